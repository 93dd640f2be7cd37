-- +goose Up
-- relation_follows holds the follow graph: one row per (follower, followee) while
-- the follower follows. created_at is epoch ms; with the other user's id it is the
-- position lists are ordered and paged by, newest first.
CREATE TABLE relation_follows (
    follower_id BIGINT NOT NULL,
    followee_id BIGINT NOT NULL,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (follower_id, followee_id)
);
-- Whom a user follows (and the friend list, which walks it), newest first, paged by
-- (created_at, followee_id) as an index range scan.
CREATE INDEX relation_follows_by_follower_time ON relation_follows (follower_id, created_at, followee_id);
-- Who follows a user, newest first, paged by (created_at, follower_id); an author
-- with a million followers is read one page at a time from this index.
CREATE INDEX relation_follows_by_followee_time ON relation_follows (followee_id, created_at, follower_id);

-- relation_counts is, per user, how many users it follows and how many follow it,
-- changed in the same transaction as the edge they count. A user without a row has
-- zero of both.
CREATE TABLE relation_counts (
    user_id        BIGINT NOT NULL PRIMARY KEY,
    follow_count   BIGINT NOT NULL DEFAULT 0,
    follower_count BIGINT NOT NULL DEFAULT 0
);

-- +goose Down
DROP TABLE relation_counts;
DROP TABLE relation_follows;

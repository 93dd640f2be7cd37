-- +goose Up
-- video_inbox is the push half of the following timeline: one row per video
-- fanned out to a follower (or backfilled when they followed its author).
-- create_time is the video's, copied so that a user's timeline pages on
-- (create_time, video_id) in the index alone. Rows of one user are bounded (see
-- video_inbox_sizes); videos are never deleted, so the join to videos always hits.
CREATE TABLE video_inbox (
    user_id     BIGINT NOT NULL,
    video_id    BIGINT NOT NULL,
    create_time BIGINT NOT NULL,
    PRIMARY KEY (user_id, video_id)
);
CREATE INDEX video_inbox_time ON video_inbox (user_id, create_time, video_id);

-- video_inbox_sizes counts each user's inbox rows, written in the transaction that
-- adds or removes them, so that trimming an inbox back to its bound costs a
-- primary-key read per user instead of a COUNT over the inbox.
CREATE TABLE video_inbox_sizes (
    user_id BIGINT NOT NULL PRIMARY KEY,
    size    BIGINT NOT NULL
);

-- +goose Down
DROP TABLE video_inbox_sizes;
DROP TABLE video_inbox;

-- +goose Up
-- favorite_likes holds the like facts: one row per (user, video) while the user likes
-- it. author_id is copied from the video when the like is written (a video's author
-- never changes), so taking a like back can lower the author's received count without
-- asking the video role, even after the video is gone. created_at is epoch ms.
CREATE TABLE favorite_likes (
    user_id    BIGINT NOT NULL,
    video_id   BIGINT NOT NULL,
    author_id  BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, video_id)
);
-- A user's favorite list, most recently liked first, paged by (created_at, video_id).
CREATE INDEX favorite_likes_by_user_time ON favorite_likes (user_id, created_at, video_id);
-- Per-video counting and audits of favorite_video_counts against the facts.
CREATE INDEX favorite_likes_by_video ON favorite_likes (video_id);

-- favorite_video_counts is the number of likes on each video, changed in the same
-- transaction as the fact it counts.
CREATE TABLE favorite_video_counts (
    video_id       BIGINT NOT NULL PRIMARY KEY,
    favorite_count BIGINT NOT NULL DEFAULT 0
);

-- favorite_user_counts is, per user, the likes given (favorite_count on the app's
-- User) and the likes received on the user's videos (total_favorited), changed in the
-- same transaction as the fact they count.
CREATE TABLE favorite_user_counts (
    user_id  BIGINT NOT NULL PRIMARY KEY,
    given    BIGINT NOT NULL DEFAULT 0,
    received BIGINT NOT NULL DEFAULT 0
);

-- +goose Down
DROP TABLE favorite_user_counts;
DROP TABLE favorite_video_counts;
DROP TABLE favorite_likes;

-- +goose Up
-- videos holds published videos. create_time is epoch ms; the feed and publish
-- lists page on (create_time, id), newest first. play_key and cover_key are
-- content-addressed blob keys, indexed so that a failed publish can tell whether
-- another video already uses the same bytes before it deletes them.
CREATE TABLE videos (
    id          BIGINT       NOT NULL PRIMARY KEY,
    author_id   BIGINT       NOT NULL,
    title       VARCHAR(400) NOT NULL,
    play_key    VARCHAR(255) NOT NULL,
    cover_key   VARCHAR(255) NOT NULL,
    create_time BIGINT       NOT NULL
);
CREATE INDEX videos_time ON videos (create_time, id);
CREATE INDEX videos_author_time ON videos (author_id, create_time, id);
CREATE INDEX videos_play_key ON videos (play_key);
CREATE INDEX videos_cover_key ON videos (cover_key);

-- video_work_counts is each author's number of videos, written in the same
-- transaction as the video row so it is always exact. A count row, not COUNT(*):
-- work_count is on every User object of every response (30 authors per feed
-- page), and one primary-key read per author stays cheap however prolific the
-- author is.
CREATE TABLE video_work_counts (
    user_id    BIGINT NOT NULL PRIMARY KEY,
    work_count BIGINT NOT NULL
);

-- +goose Down
DROP TABLE video_work_counts;
DROP TABLE videos;

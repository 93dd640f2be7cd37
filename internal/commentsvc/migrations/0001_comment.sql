-- +goose Up
-- The comment platform's storage, as seed 004 lays it out: a subject per video, an
-- index of comments without their text, the text keyed by comment id, and likes.
-- Times are epoch ms. States: 1 visible, 2 pending (held for review), 3 rejected,
-- 4 deleted. Only the serial writer of a video's partition inserts comments (see
-- writer.go), so floors are allocated without contention.

-- comment_subject is one row per video that has ever had a comment. top_floor is the
-- last top-level floor handed out (never reused). comment_count counts every visible
-- comment that users see: visible top-level comments and the visible replies of
-- visible threads; root_count only the visible top-level ones. pinned_id is the
-- author's pinned top-level comment, 0 for none. owner_id is the video's author,
-- copied when the subject is created (a video's author never changes).
CREATE TABLE comment_subject (
    video_id      BIGINT NOT NULL PRIMARY KEY,
    owner_id      BIGINT NOT NULL,
    top_floor     BIGINT NOT NULL DEFAULT 0,
    root_count    BIGINT NOT NULL DEFAULT 0,
    comment_count BIGINT NOT NULL DEFAULT 0,
    pinned_id     BIGINT NOT NULL DEFAULT 0,
    updated_at    BIGINT NOT NULL
);

-- comment_index is the floor structure without the text, so that listing pages
-- reads narrow rows (seed 004: 索引内容分离). root_id and parent_id are 0 for a
-- top-level comment. reply_count (visible replies) and reply_floor (the last reply
-- floor handed out in the thread) are kept on top-level rows only. hot is
-- HotScore(like_count, reply_count, created_at), rewritten whenever either count
-- changes. version grows with every change of the row; change events carry it, so
-- consumers can drop an older event that arrives after a newer one.
CREATE TABLE comment_index (
    id          BIGINT NOT NULL PRIMARY KEY,
    video_id    BIGINT NOT NULL,
    user_id     BIGINT NOT NULL,
    root_id     BIGINT NOT NULL,
    parent_id   BIGINT NOT NULL,
    floor       BIGINT NOT NULL,
    state       SMALLINT NOT NULL,
    like_count  BIGINT NOT NULL DEFAULT 0,
    reply_count BIGINT NOT NULL DEFAULT 0,
    reply_floor BIGINT NOT NULL DEFAULT 0,
    hot         DOUBLE PRECISION NOT NULL,
    version     BIGINT NOT NULL DEFAULT 1,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
-- Floors are unique within a thread (top-level: root_id 0 within the video).
CREATE UNIQUE INDEX comment_index_floor ON comment_index (video_id, root_id, floor);
-- Pages in time (floor) order, top-level and replies alike.
CREATE INDEX comment_index_by_floor ON comment_index (video_id, root_id, state, floor);
-- Pages in hot order.
CREATE INDEX comment_index_by_hot ON comment_index (video_id, root_id, state, hot, id);
-- A viewer's own comments in a thread of a video (held ones, and ones too new for
-- the caches): looked up on every logged-in list request, so the index holds every
-- column the lookup filters on and reads only the rows it returns.
CREATE INDEX comment_index_by_author ON comment_index (video_id, user_id, root_id, state, created_at);
-- Moderation: a user's comments, newest first; the review queue.
CREATE INDEX comment_index_by_user ON comment_index (user_id, created_at);
CREATE INDEX comment_index_by_state ON comment_index (state, created_at);

-- comment_content holds the text, byte for byte, keyed by the comment's id (the
-- clustered key, so reading a page's texts is a primary-key lookup).
CREATE TABLE comment_content (
    comment_id BIGINT NOT NULL PRIMARY KEY,
    content    TEXT   NOT NULL,
    created_at BIGINT NOT NULL
);

-- comment_likes holds one row per (comment, user) while the user likes it; the count
-- is comment_index.like_count, changed in the same transaction.
CREATE TABLE comment_likes (
    user_id    BIGINT NOT NULL,
    comment_id BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, comment_id)
);
CREATE INDEX comment_likes_by_comment ON comment_likes (comment_id);

-- +goose Down
DROP TABLE comment_likes;
DROP TABLE comment_content;
DROP TABLE comment_index;
DROP TABLE comment_subject;

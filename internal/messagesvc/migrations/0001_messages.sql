-- +goose Up
-- message_messages holds every chat message. user_lo and user_hi are the two users of
-- the conversation, the smaller id first, so that both directions of a chat are one
-- index range; from_user_id and to_user_id say who sent it to whom. content is kept
-- byte for byte (at most 1,000 code points, so at most 4,000 bytes). create_time is
-- epoch ms, strictly increasing within a conversation (see message_conversations).
CREATE TABLE message_messages (
    id           BIGINT NOT NULL PRIMARY KEY,
    user_lo      BIGINT NOT NULL,
    user_hi      BIGINT NOT NULL,
    from_user_id BIGINT NOT NULL,
    to_user_id   BIGINT NOT NULL,
    content      TEXT   NOT NULL,
    create_time  BIGINT NOT NULL
);
-- A conversation in (create_time, id) order: chat pages in both directions of time,
-- and the app's once-a-second poll for messages newer than pre_msg_time.
CREATE INDEX message_messages_by_conversation ON message_messages (user_lo, user_hi, create_time, id);

-- message_conversations has one row per pair of users that have exchanged a message,
-- pointing at its newest message (last_time, last_id), updated in the same
-- transaction as the message. The friend list asks for the newest message with up
-- to 1,000 friends at once; this makes that a key lookup per friend instead of a
-- search through every conversation's history. Sends also lock the row and stamp
-- the new message later than last_time, so a reader that polls for messages after
-- the last time it saw never misses one committed late or stamped by a slower
-- clock. last_id 0 means no message yet.
CREATE TABLE message_conversations (
    user_lo   BIGINT NOT NULL,
    user_hi   BIGINT NOT NULL,
    last_time BIGINT NOT NULL DEFAULT 0,
    last_id   BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (user_lo, user_hi)
);

-- +goose Down
DROP TABLE message_conversations;
DROP TABLE message_messages;

-- +goose Up
CREATE TABLE notes (
    id         BIGINT      NOT NULL PRIMARY KEY,
    owner_id   BIGINT      NOT NULL,
    title      VARCHAR(64) NOT NULL,
    body       TEXT        NOT NULL,
    created_ms BIGINT      NOT NULL
);
CREATE UNIQUE INDEX notes_owner_title ON notes (owner_id, title);

-- +goose Down
DROP TABLE notes;

-- +goose Up
-- users holds accounts. name is shown as typed; name_key is its ASCII-lowercased
-- form, unique, so "Alice" and "alice" cannot both register. Times are epoch ms.
CREATE TABLE users (
    id               BIGINT       NOT NULL PRIMARY KEY,
    name             VARCHAR(128) NOT NULL,
    name_key         VARCHAR(128) NOT NULL,
    password_hash    VARCHAR(255) NOT NULL,
    avatar           VARCHAR(512) NOT NULL DEFAULT '',
    background_image VARCHAR(512) NOT NULL DEFAULT '',
    signature        VARCHAR(1024) NOT NULL DEFAULT '',
    created_at       BIGINT       NOT NULL
);
CREATE UNIQUE INDEX users_name_key ON users (name_key);

-- +goose Down
DROP TABLE users;

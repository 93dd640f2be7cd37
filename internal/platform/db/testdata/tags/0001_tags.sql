-- +goose Up
CREATE TABLE tags (
    note_id BIGINT      NOT NULL,
    tag     VARCHAR(32) NOT NULL,
    PRIMARY KEY (note_id, tag)
);

-- +goose Down
DROP TABLE tags;

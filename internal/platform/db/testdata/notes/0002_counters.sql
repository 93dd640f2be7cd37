-- +goose Up
CREATE TABLE note_counters (
    owner_id   BIGINT NOT NULL PRIMARY KEY,
    notes      INT    NOT NULL,
    updated_ms BIGINT NOT NULL
);
CREATE INDEX note_counters_updated ON note_counters (updated_ms);

-- +goose Down
DROP TABLE note_counters;

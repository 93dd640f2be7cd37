-- +goose Up
-- Visible replies per thread, counted by `mdouyin check` page by page; without it
-- every page would scan the whole table.
CREATE INDEX comment_index_by_root ON comment_index (root_id, state);

-- +goose Down
-- The two engines spell DROP INDEX differently, and the index is harmless: kept.

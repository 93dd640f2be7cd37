-- +goose Up
-- Likes received per author, counted by `mdouyin check` page by page; without it
-- every page would scan the whole table.
CREATE INDEX favorite_likes_by_author ON favorite_likes (author_id);

-- +goose Down
-- The two engines spell DROP INDEX differently, and the index is harmless: kept.

-- +goose Up
-- The most followed users, for ListPopular (the feed's pull-mode authors): a
-- range of this index from the top, never a scan of every user's counts.
CREATE INDEX relation_counts_by_followers ON relation_counts (follower_count, user_id);

-- +goose Down
-- The two engines spell DROP INDEX differently, and the index is harmless: kept.

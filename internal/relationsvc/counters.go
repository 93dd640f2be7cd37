package relationsvc

import "github.com/mdouyin/mdouyin/internal/platform/db"

// Counters lists the relation role's stored counts with the follows they count,
// for `mdouyin check`.
func (s *SQLStore) Counters() []db.Counter {
	create := s.db.InsertIgnore() + ` INTO relation_counts (user_id, follow_count, follower_count) VALUES (?, 0, 0)`
	return []db.Counter{{
		Table: "relation_counts", Key: "user_id", Column: "follow_count",
		Facts:   `SELECT follower_id, COUNT(*) FROM relation_follows WHERE follower_id > ? GROUP BY follower_id ORDER BY follower_id LIMIT ?`,
		Recount: `SELECT COUNT(*) AS n FROM relation_follows WHERE follower_id = ?`,
		Create:  create,
	}, {
		Table: "relation_counts", Key: "user_id", Column: "follower_count",
		Facts:   `SELECT followee_id, COUNT(*) FROM relation_follows WHERE followee_id > ? GROUP BY followee_id ORDER BY followee_id LIMIT ?`,
		Recount: `SELECT COUNT(*) AS n FROM relation_follows WHERE followee_id = ?`,
		Create:  create,
	}}
}

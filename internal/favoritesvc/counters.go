package favoritesvc

import "github.com/mdouyin/mdouyin/internal/platform/db"

// Counters lists the favorite role's stored counts with the likes they count,
// for `mdouyin check`.
func (s *SQLStore) Counters() []db.Counter {
	ignore := s.db.InsertIgnore()
	return []db.Counter{{
		Table: "favorite_video_counts", Key: "video_id", Column: "favorite_count",
		Facts:   `SELECT video_id, COUNT(*) FROM favorite_likes WHERE video_id > ? GROUP BY video_id ORDER BY video_id LIMIT ?`,
		Recount: `SELECT COUNT(*) AS n FROM favorite_likes WHERE video_id = ?`,
		Create:  ignore + ` INTO favorite_video_counts (video_id, favorite_count) VALUES (?, 0)`,
	}, {
		Table: "favorite_user_counts", Key: "user_id", Column: "given",
		Facts:   `SELECT user_id, COUNT(*) FROM favorite_likes WHERE user_id > ? GROUP BY user_id ORDER BY user_id LIMIT ?`,
		Recount: `SELECT COUNT(*) AS n FROM favorite_likes WHERE user_id = ?`,
		Create:  ignore + ` INTO favorite_user_counts (user_id, given, received) VALUES (?, 0, 0)`,
	}, {
		Table: "favorite_user_counts", Key: "user_id", Column: "received",
		Facts:   `SELECT author_id, COUNT(*) FROM favorite_likes WHERE author_id > ? GROUP BY author_id ORDER BY author_id LIMIT ?`,
		Recount: `SELECT COUNT(*) AS n FROM favorite_likes WHERE author_id = ?`,
		Create:  ignore + ` INTO favorite_user_counts (user_id, given, received) VALUES (?, 0, 0)`,
	}}
}

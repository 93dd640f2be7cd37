package videosvc

import "github.com/mdouyin/mdouyin/internal/platform/db"

// Counters lists the video role's stored counts with the videos they count, for
// `mdouyin check`.
func (s *SQLStore) Counters() []db.Counter {
	return []db.Counter{{
		Table: "video_work_counts", Key: "user_id", Column: "work_count",
		Facts:   `SELECT author_id, COUNT(*) FROM videos WHERE author_id > ? GROUP BY author_id ORDER BY author_id LIMIT ?`,
		Recount: `SELECT COUNT(*) AS n FROM videos WHERE author_id = ?`,
		Create:  s.db.InsertIgnore() + ` INTO video_work_counts (user_id, work_count) VALUES (?, 0)`,
	}}
}

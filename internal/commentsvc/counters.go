package commentsvc

import (
	"fmt"

	"github.com/mdouyin/mdouyin/internal/platform/db"
	"github.com/mdouyin/mdouyin/kitex_gen/comment"
)

// Counters lists the comment role's stored counts with the comments and likes
// they count, for `mdouyin check`. What each counts follows the writers
// (store_sql.go): a root's reply_count counts its visible replies whatever the
// root's own state; a subject's root_count its visible roots; its comment_count
// the visible comments under visible roots (hiding a root takes its thread out
// of the count, restoring it brings the thread back). Missing subject and index
// rows cannot be made up, so those are reported, not created.
func (s *SQLStore) Counters() []db.Counter {
	visible := int(comment.CommentState_Visible)
	listed := fmt.Sprintf(`FROM comment_index c LEFT JOIN comment_index r ON r.id = c.root_id
		WHERE c.state = %d AND (c.root_id = 0 OR r.state = %d)`, visible, visible)
	return []db.Counter{{
		Table: "comment_subject", Key: "video_id", Column: "root_count",
		Facts: fmt.Sprintf(`SELECT video_id, COUNT(*) FROM comment_index WHERE video_id > ? AND root_id = 0 AND state = %d
			GROUP BY video_id ORDER BY video_id LIMIT ?`, visible),
		Recount: fmt.Sprintf(`SELECT COUNT(*) AS n FROM comment_index WHERE video_id = ? AND root_id = 0 AND state = %d`, visible),
	}, {
		Table: "comment_subject", Key: "video_id", Column: "comment_count",
		Facts:   `SELECT c.video_id, COUNT(*) ` + listed + ` AND c.video_id > ? GROUP BY c.video_id ORDER BY c.video_id LIMIT ?`,
		Recount: `SELECT COUNT(*) AS n ` + listed + ` AND c.video_id = ?`,
	}, {
		Table: "comment_index", Key: "id", Column: "reply_count",
		Facts: fmt.Sprintf(`SELECT root_id, COUNT(*) FROM comment_index WHERE root_id > ? AND root_id <> 0 AND state = %d
			GROUP BY root_id ORDER BY root_id LIMIT ?`, visible),
		Recount: fmt.Sprintf(`SELECT COUNT(*) AS n FROM comment_index WHERE root_id = ? AND state = %d`, visible),
	}, {
		Table: "comment_index", Key: "id", Column: "like_count",
		Facts:   `SELECT comment_id, COUNT(*) FROM comment_likes WHERE comment_id > ? GROUP BY comment_id ORDER BY comment_id LIMIT ?`,
		Recount: `SELECT COUNT(*) AS n FROM comment_likes WHERE comment_id = ?`,
	}}
}

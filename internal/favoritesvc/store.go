package favoritesvc

import "context"

// Like is one like fact: UserID likes VideoID, published by AuthorID, since
// CreatedAt (epoch ms).
type Like struct {
	UserID    int64
	VideoID   int64
	AuthorID  int64
	CreatedAt int64
}

// Position is a place in a user's favorite list, ordered by (CreatedAt, VideoID)
// descending: a page continues with the likes strictly after it. VideoID breaks ties
// between likes given in the same millisecond, so paging never repeats or skips one.
type Position struct {
	CreatedAt int64
	VideoID   int64
}

// Write is one like or unlike, for stores that apply many in one transaction
// (BatchStore). A like records Like whole; an unlike needs only Like.UserID and
// Like.VideoID.
type Write struct {
	Like   Like
	Unlike bool
}

// VideoStat is what the store knows of one video's likes.
type VideoStat struct {
	Count int64
	Liked bool // by the viewer asked about
}

// UserStat is what the store knows of one user's likes.
type UserStat struct {
	Given    int64
	Received int64
}

// Store keeps like facts and the counts derived from them. It is defined here,
// where it is used; store_sql.go implements it.
//
// Every write changes a fact and its counts together, atomically, or not at all, so
// the counts always equal what the facts say, whatever crashes or concurrent writes
// happen. Writes are idempotent by (user, video).
type Store interface {
	// Like records l unless the user already likes the video. Only when it records
	// it does it add one to the video's count, the liker's likes given and the
	// author's likes received. It reports whether anything changed.
	Like(ctx context.Context, l Like) (bool, error)
	// Unlike removes the user's like of the video if there is one, and then takes
	// one off each count the like added. It reports whether anything changed.
	Unlike(ctx context.Context, userID, videoID int64) (bool, error)
	// Liked returns up to limit of the user's likes, most recent first, starting
	// strictly after `after` (nil: from the most recent).
	Liked(ctx context.Context, userID int64, after *Position, limit int) ([]Like, error)
	// VideoStats returns the stats of the videos among ids that have ever been
	// liked, with Liked relative to viewer (0: anonymous, never liked).
	VideoStats(ctx context.Context, viewer int64, ids []int64) (map[int64]VideoStat, error)
	// UserStats returns the stats of the users among ids that have ever given or
	// received a like.
	UserStats(ctx context.Context, ids []int64) (map[int64]UserStat, error)
}

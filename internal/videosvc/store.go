package videosvc

import (
	"context"
)

// Video is a stored video. PlayKey and CoverKey are content-addressed blob keys.
type Video struct {
	ID         int64
	AuthorID   int64
	Title      string
	PlayKey    string
	CoverKey   string
	CreateTime int64 // epoch ms
}

// Position is a place in a newest-first listing ordered by (CreateTime, ID): a
// listing from it returns the videos strictly older. An ID of 0 means "before the
// millisecond Time", whichever videos share it.
type Position struct {
	Time int64
	ID   int64
}

// latest is a position before which every video lies.
var latest = Position{Time: 1<<63 - 1}

// after reports whether v lies strictly after p in a newest-first listing.
func (p Position) after(v *Video) bool {
	return v.CreateTime < p.Time || (v.CreateTime == p.Time && v.ID < p.ID)
}

// Store keeps videos and their authors' work counts. It is defined here, where it
// is used; store_sql.go implements it.
type Store interface {
	// Create inserts v, raises its author's work count and records the
	// video.published event, all in one transaction.
	Create(ctx context.Context, v *Video) error
	// Get returns the videos that exist among ids.
	Get(ctx context.Context, ids []int64) (map[int64]*Video, error)
	// Recent returns up to limit videos older than before, newest first.
	Recent(ctx context.Context, before Position, limit int) ([]*Video, error)
	// AtMillisecond returns up to limit videos created in millisecond t with an id
	// below beforeID, newest first: the rest of a millisecond that a page ended in.
	AtMillisecond(ctx context.Context, t, beforeID int64, limit int) ([]*Video, error)
	// ByAuthor returns up to limit of the author's videos older than before,
	// newest first.
	ByAuthor(ctx context.Context, authorID int64, before Position, limit int) ([]*Video, error)
	// WorkCounts returns how many videos each of ids has published; users without
	// videos are absent.
	WorkCounts(ctx context.Context, ids []int64) (map[int64]int64, error)
	// Referenced reports whether any video uses key as its playable file or cover.
	Referenced(ctx context.Context, key string) (bool, error)
}

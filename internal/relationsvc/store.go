package relationsvc

import "context"

// Change is one follow or unfollow to apply: the edge, when it happens, and the id
// of the event that records it if it changes anything.
type Change struct {
	FollowerID int64
	FolloweeID int64
	At         int64 // epoch ms: the edge's created_at on a follow
	EventID    int64 // unique per attempted change (idgen), for the event's message id
}

// Position is where a list page ends: the created_at of its last edge and the
// other user of that edge. The next page starts strictly after it.
type Position struct {
	CreatedAt int64
	UserID    int64
}

// Entry is one user in a list, with the created_at of the edge that put it there.
type Entry struct {
	UserID    int64
	CreatedAt int64
}

// Counts are a user's follow counts.
type Counts struct {
	Follow   int64 // users this one follows
	Follower int64 // users who follow this one
}

// Store keeps the follow graph and its counts. It is defined here, where it is
// used; store_sql.go implements it.
type Store interface {
	// Follow records the edge unless it exists. Only when it inserted the edge does
	// it raise both counts and record a SubjectFollow event, all in one
	// transaction. It reports whether anything changed.
	Follow(ctx context.Context, c Change) (changed bool, err error)
	// Unfollow removes the edge if it exists, and then lowers both counts and
	// records a SubjectUnfollow event in the same transaction. It reports whether
	// anything changed.
	Unfollow(ctx context.Context, c Change) (changed bool, err error)
	// Following returns up to limit users that userID follows, newest edge first,
	// strictly after the position (nil: from the newest).
	Following(ctx context.Context, userID int64, after *Position, limit int) ([]Entry, error)
	// Followers returns up to limit users who follow userID, likewise.
	Followers(ctx context.Context, userID int64, after *Position, limit int) ([]Entry, error)
	// Friends returns up to limit users that userID follows and who follow userID
	// back, ordered and paged like Following.
	Friends(ctx context.Context, userID int64, after *Position, limit int) ([]Entry, error)
	// Counts returns the counts of the users among ids that have any; users not in
	// the map have zero of both.
	Counts(ctx context.Context, ids []int64) (map[int64]Counts, error)
	// Follows returns the users among ids that viewer follows.
	Follows(ctx context.Context, viewer int64, ids []int64) (map[int64]bool, error)
	// Stats is Counts and Follows in one read: for each of ids, in their order
	// (a repeat answered alike), the user's counts and whether viewer (0:
	// nobody) follows them; the zero Stat for a user without follows. A slice,
	// not a map: a comment page asks about its thirty authors on every read.
	Stats(ctx context.Context, viewer int64, ids []int64) ([]Stat, error)
	// Popular returns up to limit users with more than minFollowers followers,
	// the most followed first.
	Popular(ctx context.Context, minFollowers int64, limit int) ([]int64, error)
}

// Stat is a user's counts with whether the viewer asked about follows them.
type Stat struct {
	Counts
	Followed bool
}

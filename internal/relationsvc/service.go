// Package relationsvc is the relation role: the follow graph, its counts and
// friends (users who follow each other).
//
// A follow is an edge (follower, followee, created_at). The edge, both users'
// counts and an event for the other roles are written in one local transaction,
// and only when the edge actually appears or disappears, so follows and unfollows
// are idempotent and the counts always equal the edges (see SQLStore).
//
// Lists are newest edge first and paged by an opaque cursor holding the position
// (created_at, user id) of the previous page's last entry: an index range scan per
// page, so a list of a million followers is served page by page in bounded memory,
// and follows or unfollows between pages neither repeat nor skip the other entries.
package relationsvc

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/mdouyin/mdouyin/internal/errs"
	"github.com/mdouyin/mdouyin/internal/platform/cursor"
	"github.com/mdouyin/mdouyin/internal/platform/idgen"
	"github.com/mdouyin/mdouyin/kitex_gen/base"
	"github.com/mdouyin/mdouyin/kitex_gen/relation"
	"github.com/mdouyin/mdouyin/kitex_gen/user"
)

// Limits of the relation role.
const (
	// DefaultPageSize is a list page when the request names no count (api.md A.1:
	// 1,000 users).
	DefaultPageSize = 1000
	// MaxPageSize bounds one list page; larger counts are clamped to it.
	MaxPageSize = 1000
	// MaxBatch bounds the users of one UserStats call.
	MaxBatch = 1000
)

// Errors a client can act on.
var (
	errSelfFollow   = errs.New(base.ErrCode_RelationSelfFollow, "you cannot follow yourself")
	errUserNotFound = errs.New(base.ErrCode_RelationUserNotFound, "that user does not exist")
	errBadCursor    = errs.InvalidArgument("cursor is not valid")
)

// Service implements the relation role.
type Service struct {
	store Store
	users user.UserService
	ids   *idgen.Generator
	now   func() time.Time
}

var _ relation.RelationService = (*Service)(nil)

// New returns the relation service over its store. users is the user role, asked
// whether a user to follow exists; ids issues the ids that make each event unique.
func New(store Store, users user.UserService, ids *idgen.Generator) *Service {
	return &Service{store: store, users: users, ids: ids, now: time.Now}
}

// Follow makes user_id follow (follow=true) or unfollow to_user_id. Both are
// idempotent: a repeat, or an unfollow of a user never followed, succeeds and
// changes nothing. Following oneself and naming a user that does not exist are
// refused, for an unfollow too (api.md A.1: unknown users are invalid input).
func (s *Service) Follow(ctx context.Context, req *relation.FollowRequest) (*relation.FollowResponse, error) {
	from, to := req.GetUserId(), req.GetToUserId()
	if !idgen.Valid(from) {
		return nil, errs.InvalidArgument("invalid user id %d", from)
	}
	if !idgen.Valid(to) {
		return nil, errs.InvalidArgument("invalid user id %d", to)
	}
	if from == to {
		return nil, errSelfFollow
	}
	if err := s.checkUsers(ctx, from, to); err != nil {
		return nil, err
	}
	eventID, err := s.ids.Next()
	if err != nil {
		return nil, fmt.Errorf("relationsvc: new event id: %w", err)
	}
	c := Change{FollowerID: from, FolloweeID: to, At: s.now().UnixMilli(), EventID: eventID}
	if req.GetFollow() {
		_, err = s.store.Follow(ctx, c)
	} else {
		_, err = s.store.Unfollow(ctx, c)
	}
	if err != nil {
		return nil, err
	}
	return &relation.FollowResponse{}, nil
}

// checkUsers asks the user role, in one call, that both ends of an edge exist.
// Accounts are never deleted, so an edge written after this check keeps naming
// existing users.
func (s *Service) checkUsers(ctx context.Context, from, to int64) error {
	resp, err := s.users.GetProfiles(ctx, &user.GetProfilesRequest{UserIds: []int64{from, to}})
	if err != nil {
		return err
	}
	found := resp.GetProfiles()
	if found[from] == nil {
		// A valid token of an account that is gone: the caller must log in again.
		return errs.ErrUnauthenticated
	}
	if found[to] == nil {
		return errUserNotFound
	}
	return nil
}

// ListFollowing returns one page of the users user_id follows, newest follow first.
func (s *Service) ListFollowing(ctx context.Context, req *relation.ListRequest) (*relation.ListResponse, error) {
	return s.list(ctx, req, s.store.Following)
}

// ListFollowers returns one page of the users who follow user_id, newest first.
func (s *Service) ListFollowers(ctx context.Context, req *relation.ListRequest) (*relation.ListResponse, error) {
	return s.list(ctx, req, s.store.Followers)
}

// ListFriends returns one page of user_id's friends: the users user_id follows who
// follow back, ordered by when user_id followed them, newest first. Whether the
// caller may read user_id's friends is the gateway's check: the request does not
// carry the caller.
func (s *Service) ListFriends(ctx context.Context, req *relation.ListRequest) (*relation.ListResponse, error) {
	return s.list(ctx, req, s.store.Friends)
}

// list validates a list request, reads one page plus one entry (which tells
// whether another page follows) and answers the page with its cursor.
func (s *Service) list(ctx context.Context, req *relation.ListRequest,
	read func(ctx context.Context, userID int64, after *Position, limit int) ([]Entry, error)) (*relation.ListResponse, error) {
	userID := req.GetUserId()
	if !idgen.Valid(userID) {
		return nil, errs.InvalidArgument("invalid user id %d", userID)
	}
	page := req.GetPage()
	if page == nil {
		page = &base.Page{}
	}
	n, err := cursor.Size(page, DefaultPageSize, MaxPageSize)
	if err != nil {
		return nil, err
	}
	after, err := decodeCursor(page.GetCursor())
	if err != nil {
		return nil, err
	}
	entries, err := read(ctx, userID, after, n+1)
	if err != nil {
		return nil, err
	}
	info := &base.PageInfo{}
	if len(entries) > n {
		entries = entries[:n]
		last := entries[n-1]
		info.HasMore, info.NextCursor = true, encodeCursor(Position{CreatedAt: last.CreatedAt, UserID: last.UserID})
	}
	ids := make([]int64, len(entries))
	for i, e := range entries {
		ids[i] = e.UserID
	}
	return &relation.ListResponse{UserIds: ids, Page: info}, nil
}

// UserStats returns, for every user asked about, its follow counts and whether the
// viewer (0: anonymous) follows it, in two batched queries. Users without any
// follows, or unknown, count zero.
func (s *Service) UserStats(ctx context.Context, req *relation.UserStatsRequest) (*relation.UserStatsResponse, error) {
	viewer := req.GetViewerId()
	if viewer != 0 && !idgen.Valid(viewer) {
		return nil, errs.InvalidArgument("invalid viewer id %d", viewer)
	}
	ids, err := checkBatch(req.GetUserIds())
	if err != nil {
		return nil, err
	}
	stats, err := s.store.Stats(ctx, viewer, ids)
	if err != nil {
		return nil, err
	}
	out := make(map[int64]*relation.UserStats, len(ids))
	block := make([]relation.UserStats, len(ids)) // one allocation, not one per user
	for i, id := range ids {
		st := stats[i]
		block[i] = relation.UserStats{FollowCount: st.Follow, FollowerCount: st.Follower, IsFollow: st.Followed}
		out[id] = &block[i]
	}
	return &relation.UserStatsResponse{Stats: out}, nil
}

// MaxPopular bounds ListPopular's count.
const MaxPopular = 10_000

// ListPopular returns the users followed by more than min_followers users,
// most followed first, at most count (1 to MaxPopular); complete says there
// are no more.
func (s *Service) ListPopular(ctx context.Context, req *relation.PopularRequest) (*relation.PopularResponse, error) {
	n := int(req.GetCount())
	if n < 1 || n > MaxPopular {
		return nil, errs.InvalidArgument("count must be 1 to %d", MaxPopular)
	}
	if req.GetMinFollowers() < 0 {
		return nil, errs.InvalidArgument("min_followers must not be negative")
	}
	ids, err := s.store.Popular(ctx, req.GetMinFollowers(), n+1)
	if err != nil {
		return nil, err
	}
	complete := len(ids) <= n
	return &relation.PopularResponse{UserIds: ids[:min(len(ids), n)], Complete: complete}, nil
}

// checkBatch validates the ids of a stats call and returns them without repeats.
func checkBatch(ids []int64) ([]int64, error) {
	if len(ids) > MaxBatch {
		return nil, errs.InvalidArgument("at most %d users per request", MaxBatch)
	}
	// A page's batch (thirty authors) finds its repeats faster by a scan of
	// what it kept than by a map; a big batch needs the map.
	var seen map[int64]struct{}
	if len(ids) > smallBatch {
		seen = make(map[int64]struct{}, len(ids))
	}
	out := make([]int64, 0, len(ids))
	for _, id := range ids {
		if !idgen.Valid(id) {
			return nil, errs.InvalidArgument("invalid user id %d", id)
		}
		if seen == nil {
			if slices.Contains(out, id) {
				continue
			}
		} else if _, dup := seen[id]; dup {
			continue
		} else {
			seen[id] = struct{}{}
		}
		out = append(out, id)
	}
	return out, nil
}

// smallBatch is the largest batch checkBatch dedups without a map.
const smallBatch = 64

// Cursors are opaque to clients: the (created_at, id) position of the last entry
// on the previous page (package cursor).
func encodeCursor(p Position) string { return cursor.Encode(p.CreatedAt, p.UserID) }

// decodeCursor parses a cursor from encodeCursor; "" is the first page.
func decodeCursor(c string) (*Position, error) {
	if c == "" {
		return nil, nil
	}
	at, id, ok := cursor.Decode(c)
	if !ok {
		return nil, errBadCursor
	}
	return &Position{CreatedAt: at, UserID: id}, nil
}

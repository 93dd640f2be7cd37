package videosvc

import (
	"context"
	"slices"

	"github.com/mdouyin/mdouyin/internal/platform/keep"
)

// Limits of KeepTimelines.
const (
	// keptHeadSize is how many of its newest videos are kept per inbox and per
	// author: a first page of the default size (30, and one more to see
	// where it ends) with room for the rest of its last millisecond.
	keptHeadSize = 40
	// keptHeads bounds the inboxes and the authors kept (each table): about
	// 4,096 × 40 videos at most, some 30 MiB.
	keptHeads = 4096
)

// KeepTimelines returns store and inbox with the following timeline's reads
// (Timeline) answered from this process's memory where they can be: each
// reader's newest inbox entries and each merged author's newest videos are
// kept (package keep), and a page is merged from them. It is for the
// one-process placement only, where every publish (Create) and every inbox
// write passes through these decorators and drops what it changes before it
// is acknowledged; replicas of the role would miss each other's writes.
// Writers elsewhere (a repair run) are bounded by the lifetime of counts,
// one second.
//
// A read the kept heads cannot answer exactly (a page deeper than a head, or
// a reader whose inbox or an author whose videos are being written) goes to
// the store, as without them. Videos never change once published, so a kept
// video is never stale; only which videos a head holds can be.
func KeepTimelines(store Store, inbox InboxStore) (Store, InboxStore) {
	c := &timelineCache{
		inboxes: keep.New[int64, head](keptWorksTTL, keptHeads, nil),
		authors: keep.New[int64, head](keptWorksTTL, keptHeads, nil),
	}
	return &timelineStore{Store: store, c: c}, &timelineInbox{InboxStore: inbox, c: c}
}

type timelineCache struct {
	inboxes *keep.Table[int64, head] // by reader
	authors *keep.Table[int64, head] // by author
}

// head is the newest videos of one source (an inbox or an author), newest
// first, as the store lists them.
type head struct {
	vs       []*Video
	complete bool // vs is the whole source
}

// window returns the videos of h in a timeline read's window (older than
// before, created no earlier than since), at most limit, and whether they
// are exactly what the store would list for it: h holds the whole source,
// or limit videos of the window, or reaches past since.
func (h head) window(before Position, since int64, limit int) ([]*Video, bool) {
	var out []*Video
	for _, v := range h.vs {
		if !before.after(v) {
			continue
		}
		if v.CreateTime < since {
			return out, true
		}
		out = append(out, v)
		if len(out) == limit {
			return out, true
		}
	}
	return out, h.complete
}

type timelineStore struct {
	Store
	c *timelineCache
}

func (s *timelineStore) Create(ctx context.Context, v *Video) error {
	defer s.c.authors.Change(v.AuthorID)()
	return s.Store.Create(ctx, v)
}

type timelineInbox struct {
	InboxStore
	c *timelineCache
}

func (s *timelineInbox) AddToInboxes(ctx context.Context, entries []InboxEntry, keep int) (int, error) {
	defer s.c.inboxes.Change(distinct(entries, func(e InboxEntry) int64 { return e.UserID })...)()
	return s.InboxStore.AddToInboxes(ctx, entries, keep)
}

func (s *timelineInbox) RemoveAuthorFromInbox(ctx context.Context, userID, authorID int64) (int, error) {
	defer s.c.inboxes.Change(userID)()
	return s.InboxStore.RemoveAuthorFromInbox(ctx, userID, authorID)
}

func (s *timelineInbox) Timeline(ctx context.Context, userID int64, authorIDs []int64, before Position, since int64, limit int) ([]*Video, error) {
	if limit <= 0 || (userID == 0 && len(authorIDs) == 0) {
		return nil, nil
	}
	authorIDs = slices.Compact(slices.Sorted(slices.Values(authorIDs)))
	var out []*Video
	if userID != 0 {
		h, err := keep.Read(s.c.inboxes, []int64{userID}, func([]int64) (map[int64]head, error) {
			vs, err := s.InboxStore.Inbox(ctx, userID, latest, 0, keptHeadSize)
			return map[int64]head{userID: newHead(vs)}, err
		})
		if err != nil {
			return nil, err
		}
		w, exact := h[userID].window(before, since, limit)
		if !exact {
			return s.InboxStore.Timeline(ctx, userID, authorIDs, before, since, limit)
		}
		out = append(out, w...)
	}
	if len(authorIDs) > 0 {
		hs, err := keep.Read(s.c.authors, authorIDs, func(missing []int64) (map[int64]head, error) {
			got := make(map[int64]head, len(missing))
			for _, a := range missing {
				vs, err := s.InboxStore.ByAuthors(ctx, []int64{a}, latest, 0, keptHeadSize)
				if err != nil {
					return nil, err
				}
				got[a] = newHead(vs)
			}
			return got, nil
		})
		if err != nil {
			return nil, err
		}
		for _, a := range authorIDs {
			w, exact := hs[a].window(before, since, limit)
			if !exact {
				return s.InboxStore.Timeline(ctx, userID, authorIDs, before, since, limit)
			}
			out = append(out, w...)
		}
	}
	// A video in the inbox and among its author's (one who crossed the pull
	// threshold) is listed once, as the store's UNION does.
	return newestOnce(out, limit), nil
}

func newHead(vs []*Video) head {
	return head{vs: vs, complete: len(vs) < keptHeadSize}
}

package gateway

// Read caches: what the read paths keep between requests. Only three things are
// kept, all safe in every placement: profiles, which never change once an
// account exists, the encoded first page of the guest feed, which everyone sees
// alike, for at most guestPageTTL, and the first comment pages of hot videos
// (commentcache.go), for at most commentPageTTL. Counts are kept only as part
// of those pages, for their lifetime; everywhere else they come from their roles
// on every request, so they are exact.

import (
	"context"
	"sync"
	"time"

	"github.com/maypok86/otter/v2"
	"golang.org/x/sync/singleflight"

	"github.com/mdouyin/mdouyin/internal/platform/hotkey"
	"github.com/mdouyin/mdouyin/kitex_gen/base"
)

// readCaches are one Gateway's read caches.
type readCaches struct {
	profiles *otter.Cache[int64, *base.Profile]
	guest    guestPages
	comments *commentPages
}

// Bounds of the profile cache. Profiles never change today (nothing edits a
// name, avatar or signature once an account exists), so an entry is right for as
// long as it is kept; the lifetime only bounds how long a future profile edit
// would take to show without an invalidation of its own.
const (
	profileEntries = 50_000
	profileTTL     = 5 * time.Minute
)

func newReadCaches() *readCaches {
	return &readCaches{
		profiles: otter.Must(&otter.Options[int64, *base.Profile]{
			MaximumSize:      profileEntries,
			ExpiryCalculator: otter.ExpiryWriting[int64, *base.Profile](profileTTL),
		}),
		guest:    guestPages{pages: map[string]guestPage{}, now: time.Now},
		comments: newCommentPages(hotkey.DetectorOptions{}, time.Now),
	}
}

// cachedProfiles returns the profiles among ids that the cache holds, and the ids
// it does not.
func (r *readCaches) cachedProfiles(ids []int64) (map[int64]*base.Profile, []int64) {
	found := make(map[int64]*base.Profile, len(ids))
	var missing []int64
	for _, id := range ids {
		if p, ok := r.profiles.GetIfPresent(id); ok {
			found[id] = p
		} else {
			missing = append(missing, id)
		}
	}
	return found, missing
}

// Guest feed pages.
//
// The first page of the guest feed is the same for every anonymous request, so
// it is assembled and encoded once and the bytes served to everyone for up to
// guestPageTTL: the assembly joins five roles and costs some twenty times the
// serving. Media URLs are built from the request's Host, so pages are kept per
// base URL. A write this gateway answers that the page shows (a publish, a
// comment) drops the pages at once, so a client reads its own writes; writes
// answered elsewhere (another gateway, a like) show within guestPageTTL. A page
// assembled without a role that was down is not kept.
const (
	guestPageTTL = time.Second
	// guestPageKeys bounds the base URLs kept: Hosts are the client's to choose.
	guestPageKeys = 16
)

type guestPages struct {
	mu      sync.Mutex
	gen     uint64 // raised by every drop; a page of an older generation is stale
	pages   map[string]guestPage
	flights singleflight.Group
	now     func() time.Time // time.Now; tests move it
}

// guestPage is an encoded first page of the guest feed.
type guestPage struct {
	body    []byte
	newest  int64 // create_time of the page's newest video; 0 when empty
	gen     uint64
	expires time.Time
}

// get returns the live page kept for root.
func (p *guestPages) get(root string, now time.Time) (guestPage, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	pg, ok := p.pages[root]
	if !ok || pg.gen != p.gen || !now.Before(pg.expires) {
		return guestPage{}, false
	}
	return pg, true
}

// generation returns the current generation, for a page about to be assembled.
func (p *guestPages) generation() uint64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.gen
}

// put keeps pg for root unless a drop came after its assembly began.
func (p *guestPages) put(root string, pg guestPage, now time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if pg.gen != p.gen {
		return
	}
	if _, ok := p.pages[root]; !ok && len(p.pages) >= guestPageKeys {
		for k, old := range p.pages {
			if old.gen != p.gen || !now.Before(old.expires) {
				delete(p.pages, k)
			}
		}
		if len(p.pages) >= guestPageKeys {
			return
		}
	}
	p.pages[root] = pg
}

// drop makes every kept page stale, including pages being assembled now.
func (p *guestPages) drop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.gen++
	clear(p.pages)
}

// load returns the page for root: the kept one, or one assembled by build, at
// most one build per root at a time. build reports whether its page may be kept.
func (p *guestPages) load(ctx context.Context, root string, build func(context.Context) (guestPage, bool, error)) (guestPage, error) {
	if pg, ok := p.get(root, p.now()); ok {
		return pg, nil
	}
	v, err, _ := p.flights.Do(root, func() (any, error) {
		if pg, ok := p.get(root, p.now()); ok {
			return pg, nil
		}
		gen := p.generation()
		pg, keep, err := build(ctx)
		if err != nil {
			return guestPage{}, err
		}
		pg.gen = gen
		if keep {
			now := p.now()
			pg.expires = now.Add(guestPageTTL)
			p.put(root, pg, now)
		}
		return pg, nil
	})
	if err != nil {
		return guestPage{}, err
	}
	return v.(guestPage), nil
}

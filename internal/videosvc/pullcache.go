package videosvc

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/maypok86/otter/v2"
	"golang.org/x/sync/singleflight"

	"github.com/mdouyin/mdouyin/kitex_gen/relation"
)

// pullModes remembers, for a short time, which authors are in pull mode (more
// followers than the pull threshold). The following timeline asks it about every
// followee of the viewer on every read; without it each read costs a follower
// count per followee (hundreds for a user who follows many). Followees are shared
// among viewers, so the answers are too.
//
// Only the mode is kept, never a count anyone is shown. It goes stale only when
// an author crosses the threshold, and for at most pullModeTTL: an author who
// crossed upwards and published within that time (the fan-out reads the count
// afresh and skips them) reaches their followers' timelines that much later; one
// who crossed downwards is merged at read time as well as fanned out, which the
// merge lists once.
type pullModes struct {
	c *otter.Cache[int64, bool]
}

const (
	pullModeTTL     = time.Second
	pullModeEntries = 100_000
)

func newPullModes() *pullModes {
	return &pullModes{c: otter.Must(&otter.Options[int64, bool]{
		MaximumSize:      pullModeEntries,
		ExpiryCalculator: otter.ExpiryWriting[int64, bool](pullModeTTL),
	})}
}

// split returns the authors among ids known to be in pull mode, and the ids
// whose mode is not known.
func (p *pullModes) split(ids []int64) (pull, unknown []int64) {
	for _, id := range ids {
		switch isPull, ok := p.c.GetIfPresent(id); {
		case !ok:
			unknown = append(unknown, id)
		case isPull:
			pull = append(pull, id)
		}
	}
	return pull, unknown
}

func (p *pullModes) set(id int64, isPull bool) { p.c.Set(id, isPull) }

// popularAuthors remembers, for pullModeTTL, the relation role's list of every
// user above the pull threshold (ListPopular). Those are few: when the list is
// complete, a viewer's pull-mode followees are the ones among them the viewer
// follows, which one UserStats call answers, instead of walking the viewer's
// whole following list (200 entries for a user who follows 200 authors) on
// every read. The list is shared by every viewer and read once per TTL, by
// one caller while the others wait for it.
type popularAuthors struct {
	mu      sync.Mutex
	ids     []int64
	usable  bool // complete, and not longer than maxPopular
	fetched time.Time
	flights singleflight.Group
}

// maxPopular is the most pull-mode authors asked for by ListPopular; with more
// of them, the following list is walked instead.
const maxPopular = 500

// above notes that id is in pull mode now (the fan-out or a follow's sync
// found it above the threshold). When the list does not hold it yet, the
// author has just crossed the threshold: the list is read again at the next
// feed read rather than up to pullModeTTL later, so the author's followers
// see the video being fanned out (that is, not fanned out) at once.
func (p *popularAuthors) above(id int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !slices.Contains(p.ids, id) {
		p.fetched = time.Time{}
	}
}

// get returns the pull-mode authors, most followed first, and whether they are
// all of them: false when there are more than maxPopular, or when ListPopular
// failed (a relation role of an older release does not know it, during a
// rolling upgrade), which is remembered for pullModeTTL as well; the caller
// then walks the following list, which reports the relation role's own
// failures.
func (p *popularAuthors) get(ctx context.Context, rel relation.RelationService, threshold int64, now time.Time) ([]int64, bool) {
	p.mu.Lock()
	if !p.fetched.IsZero() && now.Sub(p.fetched) < pullModeTTL {
		ids, usable := p.ids, p.usable
		p.mu.Unlock()
		return ids, usable
	}
	p.mu.Unlock()
	p.flights.Do("", func() (any, error) {
		resp, err := rel.ListPopular(context.WithoutCancel(ctx), &relation.PopularRequest{MinFollowers: threshold, Count: maxPopular})
		p.mu.Lock()
		defer p.mu.Unlock()
		p.ids, p.usable, p.fetched = nil, false, now
		if err == nil {
			p.ids, p.usable = resp.UserIds, resp.Complete
		}
		return nil, nil
	})
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.ids, p.usable
}

package relationsvc

import (
	"context"
	"path/filepath"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mdouyin/mdouyin/internal/platform/db"
)

// countedStats counts Stats reads of the store and, once armed, holds one after
// it has its answer until the test releases it.
type countedStats struct {
	Store
	reads   atomic.Int64
	armed   atomic.Bool
	reading chan struct{}
	release chan struct{}
}

func (c *countedStats) Stats(ctx context.Context, viewer int64, ids []int64) ([]Stat, error) {
	c.reads.Add(1)
	out, err := c.Store.Stats(ctx, viewer, ids)
	if c.armed.CompareAndSwap(true, false) {
		c.reading <- struct{}{}
		<-c.release
	}
	return out, err
}

// openSQLite opens the relation store on a new SQLite database.
func openSQLite(t *testing.T) *SQLStore {
	t.Helper()
	ctx := context.Background()
	d, err := db.Open(ctx, db.Options{Driver: db.SQLite, DSN: filepath.Join(t.TempDir(), "relation.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	s, err := NewSQLStore(ctx, d, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// write makes ch a follow (follow true) or an unfollow through s.
func write(ctx context.Context, s Store, ch Change, follow bool) error {
	var err error
	if follow {
		_, err = s.Follow(ctx, ch)
	} else {
		_, err = s.Unfollow(ctx, ch)
	}
	return err
}

func TestKeepStats(t *testing.T) {
	ctx := context.Background()
	sql := openSQLite(t)
	inner := &countedStats{Store: sql, reading: make(chan struct{}), release: make(chan struct{})}
	kept := KeepStats(inner).(*statsCache)
	clock := time.Unix(1_700_000_000, 0)
	kept.now = func() time.Time { return clock }

	const viewer, a, b, other = 1 << 40, 2 << 40, 3 << 40, 4 << 40
	follow := func(from, to int64, yes bool) {
		t.Helper()
		ch := Change{FollowerID: from, FolloweeID: to, At: clock.UnixMilli(), EventID: clock.UnixNano()}
		clock = clock.Add(time.Millisecond)
		if err := write(ctx, kept, ch, yes); err != nil {
			t.Fatal(err)
		}
	}
	want := func(who int64, id int64, follows, followers int64, followed bool) {
		t.Helper()
		got, err := kept.Stats(ctx, who, []int64{a, b, id})
		if err != nil {
			t.Fatal(err)
		}
		w := Stat{Counts: Counts{Follow: follows, Follower: followers}, Followed: followed}
		if len(got) != 3 || got[2] != w {
			t.Fatalf("stats of %d seen by %d: %+v, want %+v last", id, who, got, w)
		}
	}
	follow(other, a, true)
	want(viewer, a, 0, 1, false)
	reads := inner.reads.Load()
	want(viewer, a, 0, 1, false)
	want(viewer, b, 0, 0, false)
	if n := inner.reads.Load() - reads; n != 0 {
		t.Fatalf("%d store reads for what was kept", n)
	}

	// The viewer's own follow: their is_follow and both counts at once.
	follow(viewer, a, true)
	want(viewer, a, 0, 2, true)
	want(viewer, viewer, 1, 0, false)
	follow(viewer, a, false)
	want(viewer, a, 0, 1, false)
	// Another viewer's kept follows are their own.
	want(other, a, 0, 1, true)
	want(viewer, a, 0, 1, false)

	// Counts written around the decorator show once they expire.
	if _, err := sql.Follow(ctx, Change{FollowerID: b, FolloweeID: a, At: 1, EventID: 1}); err != nil {
		t.Fatal(err)
	}
	want(viewer, a, 0, 1, false)
	clock = clock.Add(statsCountsTTL)
	want(viewer, a, 0, 2, false)

	// A read that had the store's answer before the viewer's follow and keeps
	// it after: the next read does not find that answer.
	clock = clock.Add(statsCountsTTL) // everything expired: the next read asks the store
	inner.armed.Store(true)
	done := make(chan Stat)
	go func() {
		got, err := kept.Stats(ctx, viewer, []int64{a})
		if err != nil {
			t.Error(err)
		}
		done <- got[0]
	}()
	<-inner.reading
	follow(viewer, a, true)
	close(inner.release)
	if got := <-done; got.Followed {
		t.Fatalf("the held read saw %+v, want its own moment's: not followed", got)
	}
	want(viewer, a, 0, 3, true)
}

// hookedStore runs after once the store has committed a follow or unfollow and
// before the write returns to KeepStats: where the video role, woken by the
// change's event, asks Stats about the edge.
type hookedStore struct {
	Store
	after func()
}

func (h *hookedStore) Follow(ctx context.Context, ch Change) (bool, error) {
	ok, err := h.Store.Follow(ctx, ch)
	h.after()
	return ok, err
}

func (h *hookedStore) Unfollow(ctx context.Context, ch Change) (bool, error) {
	ok, err := h.Store.Unfollow(ctx, ch)
	h.after()
	return ok, err
}

// TestKeepStatsDuringAWrite: from the moment a follow or unfollow commits, Stats
// answers the new edge and counts, even though the write has not yet returned
// through KeepStats to drop what it kept.
func TestKeepStatsDuringAWrite(t *testing.T) {
	ctx := context.Background()
	sql := openSQLite(t)
	hooked := &hookedStore{Store: sql, after: func() {}}
	kept := KeepStats(hooked)
	const viewer, author = 1 << 40, 2 << 40
	stat := func() Stat {
		t.Helper()
		got, err := kept.Stats(ctx, viewer, []int64{author})
		if err != nil {
			t.Fatal(err)
		}
		return got[0]
	}
	for i, follow := range []bool{true, false, true} {
		before := stat() // kept: the edge as it was
		if before.Followed == follow {
			t.Fatalf("step %d: already %+v", i, before)
		}
		var during Stat
		hooked.after = func() { during = stat() }
		ch := Change{FollowerID: viewer, FolloweeID: author, At: int64(i + 1), EventID: int64(i + 1)}
		if err := write(ctx, kept, ch, follow); err != nil {
			t.Fatal(err)
		}
		wantFollowers := int64(0)
		if follow {
			wantFollowers = 1
		}
		if during.Followed != follow || during.Follower != wantFollowers {
			t.Fatalf("step %d (follow %v): between the commit and the write's return Stats said %+v", i, follow, during)
		}
		if after := stat(); after.Followed != follow || after.Follower != wantFollowers {
			t.Fatalf("step %d (follow %v): after the write Stats says %+v", i, follow, after)
		}
	}
}

// TestStatsInOrderOfIDs: Stats answers each id in its place, repeats alike and
// a user without follows as zero, from the store and from KeepStats, read cold
// and kept.
func TestStatsInOrderOfIDs(t *testing.T) {
	ctx := context.Background()
	sql := openSQLite(t)
	const viewer, a, b, other, nobody = 1 << 40, 2 << 40, 3 << 40, 4 << 40, 5 << 40
	for i, e := range [][2]int64{{viewer, a}, {other, a}, {other, b}} {
		if _, err := sql.Follow(ctx, Change{FollowerID: e[0], FolloweeID: e[1], At: int64(i + 1), EventID: int64(i + 1)}); err != nil {
			t.Fatal(err)
		}
	}
	ids := []int64{b, a, nobody, a, viewer}
	want := []Stat{
		{Counts: Counts{Follower: 1}},
		{Counts: Counts{Follower: 2}, Followed: true},
		{},
		{Counts: Counts{Follower: 2}, Followed: true},
		{Counts: Counts{Follow: 1}},
	}
	kept := KeepStats(sql)
	for _, r := range []struct {
		name  string
		store Store
	}{{"store", sql}, {"kept, cold", kept}, {"kept", kept}} {
		got, err := r.store.Stats(ctx, viewer, ids)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("%s: stats %+v, want %+v", r.name, got, want)
		}
	}
	// Part kept, part read: the kept answers and the read ones each in place.
	got, err := kept.Stats(ctx, viewer, []int64{a, other, viewer})
	if err != nil {
		t.Fatal(err)
	}
	if w := []Stat{want[1], {Counts: Counts{Follow: 2}}, want[4]}; !slices.Equal(got, w) {
		t.Fatalf("stats %+v, want %+v", got, w)
	}
	if got, err := kept.Stats(ctx, viewer, nil); err != nil || len(got) != 0 {
		t.Fatalf("no ids: %v, %v", got, err)
	}
}

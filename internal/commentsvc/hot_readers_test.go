package commentsvc

import (
	"context"
	"io"
	"log/slog"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/mdouyin/mdouyin/internal/platform/cache"
	"github.com/mdouyin/mdouyin/kitex_gen/base"
	"github.com/mdouyin/mdouyin/kitex_gen/comment"
)

// readCounter counts every read the read path makes of the store, by kind, and
// holds the first ones back until the test lets them through: a store that has
// not answered yet when every reader has arrived.
type readCounter struct {
	Store
	subjects, pages, rows, own, liked atomic.Int64
	// Subject and index page reads wait for their gate to close.
	subjectGate, pageGate chan struct{}
}

func waitGate(ctx context.Context, gate chan struct{}) error {
	select {
	case <-gate:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (c *readCounter) Subject(ctx context.Context, videoID int64) (Subject, bool, error) {
	c.subjects.Add(1)
	if err := waitGate(ctx, c.subjectGate); err != nil {
		return Subject{}, false, err
	}
	return c.Store.Subject(ctx, videoID)
}

func (c *readCounter) Page(ctx context.Context, q PageQuery) ([]cache.Member, error) {
	c.pages.Add(1)
	if err := waitGate(ctx, c.pageGate); err != nil {
		return nil, err
	}
	return c.Store.Page(ctx, q)
}

func (c *readCounter) Rows(ctx context.Context, ids []int64) (map[int64]Row, error) {
	c.rows.Add(1)
	return c.Store.Rows(ctx, ids)
}

func (c *readCounter) Own(ctx context.Context, videoID, userID, rootID, since int64) ([]int64, error) {
	c.own.Add(1)
	return c.Store.Own(ctx, videoID, userID, rootID, since)
}

func (c *readCounter) Liked(ctx context.Context, userID int64, ids []int64) (map[int64]bool, error) {
	c.liked.Add(1)
	return c.Store.Liked(ctx, userID, ids)
}

// TestThousandColdReaders is issue 7's stampede goal: 1,000 anonymous readers ask
// for the first page of a video whose every cache is cold (subject, index, rows),
// all of them before the store has answered anything. The store is read once
// for the page: one subject, one index page, one batch of rows; nothing per
// reader.
func TestThousandColdReaders(t *testing.T) {
	f := newInternal(t, Options{}, nil)
	f.run()
	vid := f.newVideoOf(t, f.id(t))
	ctx := context.Background()
	keys := []string{subjectKey(vid)}
	for i := range 40 {
		r, err := f.svc.Publish(ctx, &comment.PublishRequest{UserId: f.id(t), VideoId: vid, Content: "comment " + strconv.Itoa(i)})
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, rowKey(r.GetComment().GetId()))
	}
	// A reading process of its own over the same store, stream and shared
	// caches, whose reads are counted; then everything made cold.
	counter := &readCounter{Store: f.store, subjectGate: make(chan struct{}), pageGate: make(chan struct{})}
	svc, err := New(counter, f.videos, f.ids, f.bus, f.svc.kv, f.svc.sets, slog.New(slog.NewTextHandler(io.Discard, nil)), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(svc.Close)
	if err := svc.sets.Delete(ctx, setKey(vid, 0, ByTime)); err != nil {
		t.Fatal(err)
	}
	if err := svc.kv.Delete(ctx, keys...); err != nil {
		t.Fatal(err)
	}

	// Every reader calls List before the store answers: the first subject read
	// is held until all have started. At the page load a barrier gathers them
	// all again, so that none can come late to a load already finished (the
	// index page read is held too, until all have entered the load).
	const readers = 1000
	var started, loading, entered atomic.Int64
	atLoad := make(chan struct{})
	svc.beforeLoad = func() {
		if loading.Add(1) == readers {
			close(atLoad)
		}
		<-atLoad
		entered.Add(1)
	}
	var wg sync.WaitGroup
	for range readers {
		wg.Go(func() {
			started.Add(1)
			r, err := svc.List(ctx, &comment.ListRequest{VideoId: vid, Page: &base.Page{Count: 30}})
			if err != nil || len(r.GetComments()) != 30 {
				t.Errorf("list: %d comments, %v", len(r.GetComments()), err)
			}
		})
	}
	for started.Load() < readers {
		runtime.Gosched()
	}
	for range 1000 {
		runtime.Gosched() // let the last readers reach the subject read
	}
	// The subject read is let through; the index page read, after it, waits
	// until every reader has entered the load.
	close(counter.subjectGate)
	<-atLoad
	for entered.Load() < readers {
		runtime.Gosched()
	}
	for range 1000 {
		runtime.Gosched() // let the last readers join the load in flight
	}
	close(counter.pageGate)
	wg.Wait()
	subjects, pages, rows := counter.subjects.Load(), counter.pages.Load(), counter.rows.Load()
	t.Logf("%d cold readers: store reads: %d subject, %d index page, %d rows, %d own, %d liked",
		readers, subjects, pages, rows, counter.own.Load(), counter.liked.Load())
	if subjects != 1 || pages != 1 || rows != 1 || counter.own.Load() != 0 || counter.liked.Load() != 0 {
		t.Fatalf("%d cold readers read the store %d+%d+%d+%d+%d times (subject, page, rows, own, liked); want one load: 1+1+1+0+0",
			readers, subjects, pages, rows, counter.own.Load(), counter.liked.Load())
	}
}

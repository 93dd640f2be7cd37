package videosvc

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/mdouyin/mdouyin/internal/errs"
	"github.com/mdouyin/mdouyin/kitex_gen/base"
)

// TestPipelineQueueIsBounded holds every worker slot, so uploads queue: past
// queuePerWorker waiters per worker an upload is refused at once as busy
// (Unavailable), and every queued one gets its slot once the workers free up.
func TestPipelineQueueIsBounded(t *testing.T) {
	const workers = 2
	p, err := NewPipeline(PipelineOptions{FFmpegPath: "ffmpeg", FFprobePath: "ffprobe", Workers: workers, Timeout: time.Minute, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	for range workers {
		p.slots <- struct{}{} // every worker busy
	}
	limit := workers * queuePerWorker
	var wg sync.WaitGroup
	got := make(chan error, limit)
	for range limit {
		wg.Go(func() {
			release, err := p.acquire(context.Background())
			if err == nil {
				release()
			}
			got <- err
		})
	}
	deadline := time.Now().Add(30 * time.Second)
	for p.queued.Load() != int64(limit) {
		if time.Now().After(deadline) {
			t.Fatalf("queued %d, want %d", p.queued.Load(), limit)
		}
		time.Sleep(time.Millisecond) // polling until every upload waits
	}
	if _, err := p.acquire(context.Background()); errs.CodeOf(err) != base.ErrCode_Unavailable {
		t.Fatalf("an upload past a full queue: %v, want Unavailable", err)
	}
	for range workers {
		<-p.slots // the workers finish
	}
	wg.Wait()
	close(got)
	for err := range got {
		if err != nil {
			t.Errorf("a queued upload failed: %v", err)
		}
	}
	if q := p.queued.Load(); q != 0 {
		t.Fatalf("queued %d after the workers freed up", q)
	}
}

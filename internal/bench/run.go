package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cloudwego/hertz/pkg/app/client"
	"github.com/cloudwego/hertz/pkg/network/standard"
	"github.com/cloudwego/hertz/pkg/protocol"
)

// Clock is the time source of a run. Tests drive a fake one to check the open
// loop's timetable without sleeping.
type Clock interface {
	Now() time.Time
	// SleepUntil returns once t has come (at once if it has passed), or with
	// ctx's error when ctx ends first.
	SleepUntil(ctx context.Context, t time.Time) error
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) SleepUntil(ctx context.Context, t time.Time) error {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err()
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Load is how requests are offered to the server.
type Load struct {
	// Connections is the closed loop's number of workers, each with one request
	// in flight at a time and its own keep-alive connection.
	Connections int
	// Rate > 0 selects the open loop: requests are started on a fixed timetable,
	// Rate per second, whatever the server's speed, and each one's latency is
	// measured from its scheduled time, so a stall shows in the latencies of
	// every request it delayed instead of silently lowering the offered load.
	Rate float64
	// MaxInFlight bounds the open loop's outstanding requests (default
	// Connections); a request due while that many are outstanding is dropped
	// and counted as an error of kind "dropped".
	MaxInFlight int
	// Duration is how long requests are started for; requests in flight at
	// the end are waited for and counted.
	Duration time.Duration
	// Requests, in the open loop, stops after that many have been scheduled
	// (0: Duration decides).
	Requests int64
}

// Stats are one scenario's outcomes in a run.
type Stats struct {
	Name    string
	Latency Histogram // every answered request's, errors included
	ok      atomic.Int64
	mu      sync.Mutex
	errs    map[string]int64  // by kind: transport, http NNN, status_code N, body, dropped, build
	samples map[string]string // the first message of each kind
}

func newStats(name string) *Stats {
	return &Stats{Name: name, errs: map[string]int64{}, samples: map[string]string{}}
}

// OK is the number of requests answered with HTTP 200 and status_code 0.
func (s *Stats) OK() int64 { return s.ok.Load() }

// Errors returns the failures by kind, and a sample message of each kind.
func (s *Stats) Errors() (counts map[string]int64, samples map[string]string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	counts, samples = make(map[string]int64, len(s.errs)), make(map[string]string, len(s.samples))
	for k, v := range s.errs {
		counts[k] = v
	}
	for k, v := range s.samples {
		samples[k] = v
	}
	return counts, samples
}

// ErrorCount is the number of failed requests.
func (s *Stats) ErrorCount() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	var n int64
	for _, v := range s.errs {
		n += v
	}
	return n
}

func (s *Stats) fail(kind, sample string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.errs[kind]++
	if _, ok := s.samples[kind]; !ok {
		if len(sample) > 300 {
			sample = sample[:300] + "…"
		}
		s.samples[kind] = sample
	}
}

// Result is the outcome of one run.
type Result struct {
	Elapsed   time.Duration // from the first request's start to the last one's end
	Scenarios []*Stats      // in the mix's order
	ToolCPU   time.Duration // CPU this process used meanwhile
	// StartLag is, in the open loop, how late each request was begun after its
	// scheduled time: the tool's own delay (its timer, its goroutines waiting
	// for a core), which the latency counts too, since it runs from the
	// scheduled time. On a machine the tool shares with the server, a large lag
	// says the tail is partly the tool's.
	StartLag Histogram
}

// Worker is the per-goroutine state that scenarios build requests with. Its
// request and response are reused from one request to the next.
type Worker struct {
	ctx  context.Context
	rng  *rand.Rand
	url  []byte
	req  protocol.Request
	resp protocol.Response
}

func newWorker(ctx context.Context, seed uint64) *Worker {
	return &Worker{ctx: ctx, rng: rand.New(rand.NewPCG(seed, 0x6d646f7579696e)), url: make([]byte, 0, 256)}
}

// NewClient is the load's HTTP client: Hertz's, on Go's network stack, with a
// keep-alive connection per worker. It costs well under half the CPU per
// request of net/http's client (about 15 µs against 38 µs here), which matters
// when the tool shares the machine's cores with the server it measures. A
// request finding every connection busy waits for one (up to timeout), so in
// the open loop that wait is part of its latency. Only idempotent requests are
// retried, and only when a pooled connection turns out closed.
func NewClient(conns int, timeout time.Duration) (*client.Client, error) {
	return client.NewClient(
		client.WithDialer(standard.NewDialer()),
		client.WithMaxConnsPerHost(conns),
		client.WithMaxConnWaitTimeout(timeout),
		client.WithDialTimeout(5*time.Second),
		client.WithClientReadTimeout(timeout),
		client.WithWriteTimeout(timeout),
		client.WithMaxIdleConnDuration(90*time.Second),
	)
}

// Runner sends a mix of scenarios to a server under a Load.
type Runner struct {
	Client *client.Client
	Clock  Clock // nil: the real clock

	scheduled atomic.Int64
	dropped   atomic.Int64
	answered  atomic.Int64
	begun     atomic.Int64 // open loop: requests whose start lag is recorded
}

// Progress reports, while a run goes on, how many requests were scheduled (or
// started, in the closed loop), dropped, and answered or failed.
func (r *Runner) Progress() (scheduled, dropped, finished int64) {
	return r.scheduled.Load(), r.dropped.Load(), r.answered.Load()
}

func (r *Runner) clock() Clock {
	if r.Clock == nil {
		return realClock{}
	}
	return r.Clock
}

// Run offers the mix to the server under load and returns what happened.
func (r *Runner) Run(ctx context.Context, load Load, mix *Mix) (*Result, error) {
	if load.Connections < 1 {
		return nil, errors.New("bench: at least one connection")
	}
	if load.Duration <= 0 && (load.Rate <= 0 || load.Requests <= 0) {
		return nil, errors.New("bench: a run needs a duration")
	}
	r.scheduled.Store(0)
	r.dropped.Store(0)
	r.answered.Store(0)
	r.begun.Store(0)
	stats := make([]*Stats, len(mix.Scenarios))
	for i, sc := range mix.Scenarios {
		stats[i] = newStats(sc.Name)
	}
	cpu0 := selfCPU()
	clock := r.clock()
	start := clock.Now()
	res := &Result{Scenarios: stats}
	if load.Rate > 0 {
		r.openLoop(ctx, load, mix, stats, start, &res.StartLag)
	} else {
		r.closedLoop(ctx, load, mix, stats, start)
	}
	res.Elapsed, res.ToolCPU = clock.Now().Sub(start), selfCPU()-cpu0
	return res, ctx.Err()
}

func (r *Runner) closedLoop(ctx context.Context, load Load, mix *Mix, stats []*Stats, start time.Time) {
	clock := r.clock()
	deadline := start.Add(load.Duration)
	var wg sync.WaitGroup
	for i := range load.Connections {
		w := newWorker(ctx, uint64(i))
		wg.Go(func() {
			for ctx.Err() == nil {
				t := clock.Now()
				if !t.Before(deadline) {
					return
				}
				k := mix.next()
				r.scheduled.Add(1)
				r.do(w, mix.Scenarios[k], stats[k], t)
			}
		})
	}
	wg.Wait()
}

type job struct {
	k  int
	at time.Time
}

func (r *Runner) openLoop(ctx context.Context, load Load, mix *Mix, stats []*Stats, start time.Time, lag *Histogram) {
	clock := r.clock()
	limit := load.MaxInFlight
	if limit <= 0 {
		limit = load.Connections
	}
	// Capacity limit: the in-flight count is raised before a job is queued, so
	// the queue never holds more than limit jobs and sending never blocks the
	// timetable.
	jobs := make(chan job, limit)
	var inFlight atomic.Int64
	var wg sync.WaitGroup
	for i := range limit {
		w := newWorker(ctx, uint64(i))
		wg.Go(func() {
			for j := range jobs {
				lag.Record(clock.Now().Sub(j.at))
				r.begun.Add(1)
				r.do(w, mix.Scenarios[j.k], stats[j.k], j.at)
				inFlight.Add(-1)
			}
		})
	}
	end := start.Add(load.Duration)
	for i := int64(0); load.Requests <= 0 || i < load.Requests; i++ {
		// Each due time comes from the start, not from the previous one, so
		// rounding never drifts the rate.
		at := start.Add(time.Duration(float64(i) * float64(time.Second) / load.Rate))
		if load.Requests <= 0 && !at.Before(end) {
			break
		}
		if clock.SleepUntil(ctx, at) != nil {
			break
		}
		k := mix.next()
		r.scheduled.Add(1)
		if inFlight.Add(1) > int64(limit) {
			inFlight.Add(-1)
			stats[k].fail("dropped", fmt.Sprintf("%d requests already in flight (--max-in-flight)", limit))
			r.dropped.Add(1)
			r.answered.Add(1)
			continue
		}
		jobs <- job{k: k, at: at}
	}
	close(jobs)
	wg.Wait()
}

// do sends one request of sc, checks the answer and records it in st; the
// latency runs from t (the scheduled time in the open loop).
func (r *Runner) do(w *Worker, sc *Scenario, st *Stats, t time.Time) {
	defer r.answered.Add(1)
	req, resp := &w.req, &w.resp
	req.Reset()
	resp.Reset()
	if err := sc.Build(w, req); err != nil {
		st.fail("build", err.Error())
		return
	}
	if err := r.Client.Do(w.ctx, req, resp); err != nil {
		if w.ctx.Err() == nil {
			st.fail("transport", err.Error())
		}
		return
	}
	st.Latency.Record(r.clock().Now().Sub(t))
	body := resp.Body()
	if code := resp.StatusCode(); code != http.StatusOK {
		st.fail("http "+strconv.Itoa(code), string(body))
		return
	}
	code, found := StatusCode(body)
	switch {
	case !found:
		st.fail("body", "no top-level integer status_code in: "+string(body))
	case code != 0:
		var msg struct {
			Msg string `json:"status_msg"`
		}
		json.Unmarshal(body, &msg)
		st.fail("status_code "+strconv.FormatInt(code, 10), msg.Msg)
	default:
		st.ok.Add(1)
	}
}

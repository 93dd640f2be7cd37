package bench

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/cloudwego/hertz/pkg/app/client"
	"github.com/cloudwego/hertz/pkg/protocol"
)

// fakeClock is a Clock that moves only when the test advances it.
type fakeClock struct {
	mu      sync.Mutex
	now     time.Time
	waiters []fakeWaiter
}

type fakeWaiter struct {
	at time.Time
	ch chan struct{}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) SleepUntil(ctx context.Context, t time.Time) error {
	c.mu.Lock()
	if !t.After(c.now) {
		c.mu.Unlock()
		return ctx.Err()
	}
	ch := make(chan struct{})
	c.waiters = append(c.waiters, fakeWaiter{t, ch})
	c.mu.Unlock()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (c *fakeClock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
	c.waiters = slices.DeleteFunc(c.waiters, func(w fakeWaiter) bool {
		if !w.at.After(t) {
			close(w.ch)
			return true
		}
		return false
	})
}

// waitFor polls cond with a generous deadline.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond) // polling a condition, with a deadline
	}
}

func getScenario(name, url string) *Scenario {
	return &Scenario{Name: name, Build: func(w *Worker, req *protocol.Request) error {
		w.start(url, "")
		return w.request(req, http.MethodGet)
	}}
}

func newClient(t *testing.T, conns int) *client.Client {
	t.Helper()
	c, err := NewClient(conns, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.CloseIdleConnections)
	return c
}

// TestOpenLoopDropsAndCountsQueueing runs the open loop on a fake clock against
// a server that holds requests until released: requests due while the
// in-flight bound is reached are dropped and counted, and the latency of a
// request runs from its scheduled time, so time spent queued (here, waiting
// for the one connection the held request occupies) is part of it.
func TestOpenLoopDropsAndCountsQueueing(t *testing.T) {
	arrived := make(chan struct{}, 100)
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		<-release
		fmt.Fprint(w, `{"status_code":0,"status_msg":""}`)
	}))
	defer srv.Close()

	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := &fakeClock{now: t0}
	// One connection: the second request queues for it.
	r := &Runner{Client: newClient(t, 1), Clock: clock}
	mix, err := NewMix([]*Scenario{getScenario("held", srv.URL)}, []int{1})
	if err != nil {
		t.Fatal(err)
	}
	// 10 per second: request i is due at t0 + i×100ms.
	load := Load{Connections: 1, MaxInFlight: 2, Rate: 10, Requests: 20}
	done := make(chan *Result, 1)
	go func() {
		res, err := r.Run(context.Background(), load, mix)
		if err != nil {
			t.Error(err)
		}
		done <- res
	}()

	<-arrived // request 0, due at t0, reached the server and is held
	// Request 1 is due at t0+100ms; the clock jumps past it, as a timer firing
	// late would, so it begins 50ms late.
	clock.set(t0.Add(150 * time.Millisecond))
	waitFor(t, "request 1 to begin", func() bool { return r.begun.Load() == 2 })
	// Requests 2..19 come due while two are in flight: all dropped.
	clock.set(t0.Add(1900 * time.Millisecond))
	waitFor(t, "18 drops", func() bool { s, d, _ := r.Progress(); return s == 20 && d == 18 })
	clock.set(t0.Add(5 * time.Second))
	close(release)
	res := <-done

	st := res.Scenarios[0]
	errs, samples := st.Errors()
	if st.OK() != 2 || len(errs) != 1 || errs["dropped"] != 18 {
		t.Fatalf("ok %d, errors %v (%v); want 2 ok and 18 dropped", st.OK(), errs, samples)
	}
	if n := len(arrived); n != 1 {
		t.Errorf("%d more requests reached the server; want only request 1", n)
	}
	// Request 0 was due at t0 and request 1 at t0+100ms; both finished at
	// t0+5s, so their latencies are 5s and 4.9s, though request 1 reached the
	// server only after request 0 was released.
	if st.Latency.Count() != 2 || st.Latency.Max() != 5*time.Second {
		t.Errorf("latencies: %d recorded, max %s; want 2, 5s", st.Latency.Count(), st.Latency.Max())
	}
	if p := st.Latency.Quantile(0.5); p < 4900*time.Millisecond || p > 4900*time.Millisecond+4900*time.Millisecond/subBuckets {
		t.Errorf("the faster latency is %s; want 4.9s (measured from the scheduled time)", p)
	}
	if n, lag := res.StartLag.Count(), res.StartLag.Max(); n != 2 || lag != 50*time.Millisecond {
		t.Errorf("start lags: %d recorded, max %s; want 2 (the dropped ones began never), 50ms", n, lag)
	}
	if res.Elapsed != 5*time.Second {
		t.Errorf("elapsed %s, want 5s", res.Elapsed)
	}
}

// TestRunnerClassifiesAnswers runs the closed loop over scenarios that each get
// one kind of answer, and checks every answer lands under its own kind.
func TestRunnerClassifiesAnswers(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/ok", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"status_msg":"","title":"\"status_code\":1","status_code":0}`)
	})
	mux.HandleFunc("/biz", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"status_code":10004,"status_msg":"no such video","video":{"status_code":0}}`)
	})
	mux.HandleFunc("/http", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "overloaded", http.StatusServiceUnavailable)
	})
	mux.HandleFunc("/garbage", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"data":{"status_code":0}}`)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	// A port nobody listens on any more: connections are refused.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + ln.Addr().String() + "/"
	ln.Close()

	scs := []*Scenario{getScenario("ok", srv.URL+"/ok"), getScenario("biz", srv.URL+"/biz"),
		getScenario("http", srv.URL+"/http"), getScenario("garbage", srv.URL+"/garbage"), getScenario("dead", dead)}
	mix, err := NewMix(scs, []int{1, 1, 1, 1, 1})
	if err != nil {
		t.Fatal(err)
	}
	r := &Runner{Client: newClient(t, 4)}
	res, err := r.Run(context.Background(), Load{Connections: 4, Duration: 300 * time.Millisecond}, mix)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"biz": "status_code 10004", "http": "http 503", "garbage": "body", "dead": "transport"}
	for _, st := range res.Scenarios {
		errs, samples := st.Errors()
		if st.Name == "ok" {
			if st.OK() == 0 || len(errs) != 0 || st.Latency.Count() != uint64(st.OK()) {
				t.Errorf("ok: %d ok, errors %v, %d latencies", st.OK(), errs, st.Latency.Count())
			}
			continue
		}
		kind := want[st.Name]
		if st.OK() != 0 || len(errs) != 1 || errs[kind] == 0 || errs[kind] != st.ErrorCount() {
			t.Errorf("%s: %d ok, errors %v; want only %q", st.Name, st.OK(), errs, kind)
		}
		if st.Name == "biz" && samples[kind] != "no such video" {
			t.Errorf("biz: sample %q, want the status_msg", samples[kind])
		}
	}
	row := rowOf("all", res.Scenarios, res.Elapsed)
	if row.Requests != row.OK+row.Errors || row.OK == 0 || row.RPS <= 0 || len(row.ErrorKinds) != 4 {
		t.Errorf("total row: %+v", row)
	}
}

func TestMixHandsOutWeights(t *testing.T) {
	var scs []*Scenario
	for _, n := range []string{"a", "b", "c"} {
		scs = append(scs, &Scenario{Name: n})
	}
	m, err := NewMix(scs, []int{5, 2, 1})
	if err != nil {
		t.Fatal(err)
	}
	counts := make([]int, 3)
	var first []int
	for i := range 80 {
		k := m.next()
		counts[k]++
		if i < 8 {
			first = append(first, k)
		}
	}
	if !slices.Equal(counts, []int{50, 20, 10}) {
		t.Errorf("80 picks: %v, want 50/20/10", counts)
	}
	// Smooth: the heavy scenario never runs more than twice in a row here.
	if !slices.Equal(first, []int{0, 1, 0, 0, 2, 0, 1, 0}) {
		t.Errorf("the first round is %v", first)
	}
	if _, err := NewMix(scs, []int{1, 0, 1}); err == nil {
		t.Error("a zero weight was accepted")
	}
}

func TestParseMixAndScenarios(t *testing.T) {
	got, err := ParseMix(" feed_guest=3, like=0 ,publish=1")
	if err != nil || !slices.Equal(got, []Weight{{"feed_guest", 3}, {"publish", 1}}) {
		t.Errorf("ParseMix: %v %v", got, err)
	}
	for _, bad := range []string{"feed_guest", "feed_guest=x", "feed_guest=-1", "nosuch=1", "like=1,like=2", "like=0"} {
		if _, err := ParseMix(bad); err == nil {
			t.Errorf("ParseMix(%q) accepted", bad)
		}
	}
	names, ceiling, err := ExpandScenarios("ceiling")
	if err != nil || !ceiling || !slices.Equal(names, []string{"feed_guest", "feed_user", "user_info", "comment_list_hot", "comment_list_hot_guest", "comment_list_cold"}) {
		t.Errorf("ceiling: %v %v %v", names, ceiling, err)
	}
	if names, _, err := ExpandScenarios("all"); err != nil || len(names) != len(catalog) {
		t.Errorf("all: %v %v", names, err)
	}
	if _, _, err := ExpandScenarios("feed,like"); err == nil {
		t.Error("an unknown scenario was accepted")
	}
	for _, w := range DefaultMix {
		if _, ok := lookup(w.Name); !ok {
			t.Errorf("the default mix names %q", w.Name)
		}
	}
	if len(DefaultMix) != len(catalog) {
		t.Errorf("the default mix has %d of the %d scenarios", len(DefaultMix), len(catalog))
	}
	// An Env without accounts refuses the scenarios that need one.
	e := &Env{Base: "http://x"}
	if _, err := e.Scenario("feed_user"); err == nil {
		t.Error("feed_user without accounts")
	}
	if _, err := e.Scenario("feed_guest"); err != nil {
		t.Error(err)
	}
}

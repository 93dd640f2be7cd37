package mq

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mdouyin/mdouyin/internal/platform/testenv"
)

// killHelperEnv makes the test binary act as a process that publishes into an
// embedded server and then waits to be killed (see TestEmbeddedSurvivesKill).
const killHelperEnv = "MDOUYIN_MQ_KILL_HELPER_DIR"

func TestMain(m *testing.M) {
	if dir := os.Getenv(killHelperEnv); dir != "" {
		os.Exit(killHelper(dir))
	}
	os.Exit(m.Run())
}

// TestBus runs the conformance suite against every server available: always
// an embedded one, and the external one when MDOUYIN_TEST_NATS_URL is set;
// each once with plain names and once inside a namespace, which callers must
// not be able to tell apart.
func TestBus(t *testing.T) {
	for _, ns := range []string{"", "mqtest-ns_1"} {
		label := ""
		if ns != "" {
			label = "-namespaced"
		}
		t.Run("embedded"+label, func(t *testing.T) {
			e := startEmbedded(t, t.TempDir())
			suite(t, func(t *testing.T) *Bus { return connectEmbedded(t, e, WithNamespace(ns)) })
		})
		t.Run("external"+label, func(t *testing.T) {
			url := testenv.NATSURL(t)
			suite(t, func(t *testing.T) *Bus { return connectURL(t, url, WithNamespace(ns)) })
		})
	}
}

// TestNamespacesKeepDeploymentsApart puts three deployments on one server
// (two namespaces and the plain names) using the same stream, subjects and
// durable consumer names, and checks that none sees another's messages or
// broadcasts, and what each looks like on the wire.
func TestNamespacesKeepDeploymentsApart(t *testing.T) {
	t.Run("embedded", func(t *testing.T) {
		e := startEmbedded(t, t.TempDir())
		testNamespaces(t, func(t *testing.T, o ...Option) *Bus { return connectEmbedded(t, e, o...) })
	})
	t.Run("external", func(t *testing.T) {
		url := testenv.NATSURL(t)
		testNamespaces(t, func(t *testing.T, o ...Option) *Bus { return connectURL(t, url, o...) })
	})
}

func testNamespaces(t *testing.T, connect func(*testing.T, ...Option) *Bus) {
	suffix := unique(t)[len("mqtest_"):]
	spaces := []string{"nsa_" + suffix, "nsb-" + suffix, ""}
	buses := make([]*Bus, len(spaces))
	for i, ns := range spaces {
		buses[i] = connect(t, WithNamespace(ns))
	}
	// Keep one stream alive per server, as suite does, so that deleting the
	// test's streams never empties the account.
	ensureStream(t, buses[2])

	name := unique(t)
	for i, b := range buses {
		spec := StreamSpec{Name: name, Subjects: []string{name + ".>"}, MaxAge: time.Hour}
		if err := b.EnsureStream(t.Context(), spec); err != nil {
			t.Fatalf("deployment %q: %v", spaces[i], err)
		}
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := b.DeleteStream(ctx, name); err != nil {
				t.Errorf("cleanup: %v", err)
			}
		})
	}

	// On the wire: ns_NAME capturing ns.NAME.>, and the plain deployment
	// exactly as before namespaces existed.
	raw := buses[2].js
	for _, ns := range spaces {
		wantName, wantSubject := name, name+".>"
		if ns != "" {
			wantName, wantSubject = ns+"_"+name, ns+"."+name+".>"
		}
		st, err := raw.Stream(t.Context(), wantName)
		if err != nil {
			t.Fatalf("stream %s on the server: %v", wantName, err)
		}
		if got := st.CachedInfo().Config.Subjects; !slices.Equal(got, []string{wantSubject}) {
			t.Fatalf("stream %s captures %v, want [%s]", wantName, got, wantSubject)
		}
	}

	for i, b := range buses {
		publish(t, b, name+".x", "same-id", spaces[i])
	}
	for i, b := range buses {
		got := make(chan Msg, 10)
		consume(t, b, ConsumerSpec{Stream: name, Durable: "d", FilterSubject: name + ".x"}, func(_ context.Context, m Msg) error {
			got <- m
			return nil
		})
		m := receive(t, got, 1)[0]
		if string(m.Data) != spaces[i] || m.Subject != name+".x" || m.ID != "same-id" {
			t.Fatalf("deployment %q consumed %q on %q (id %q); want its own message on %s.x",
				spaces[i], m.Data, m.Subject, m.ID, name)
		}
		waitSettled(t, b, name, "d", 1)
		st, err := b.js.Stream(t.Context(), b.ns.stream(name))
		if err != nil {
			t.Fatal(err)
		}
		if n := st.CachedInfo().State.Msgs; n != 1 {
			t.Fatalf("deployment %q's stream holds %d messages, want only its own", spaces[i], n)
		}
	}

	// Broadcasts: each deployment subscribes to the same pattern and
	// broadcasts once. Every broadcast is flushed before any deployment sends
	// its end marker, so a message of another deployment that reached a
	// subscriber would be queued ahead of that subscriber's marker.
	subject := "bc." + suffix
	got := make([]chan string, len(buses))
	for i, b := range buses {
		got[i] = make(chan string, 10)
		stop, err := b.Subscribe(subject+".*", func(s string, d []byte) { got[i] <- s + "=" + string(d) })
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(stop)
	}
	// The plain deployment sees a namespace's traffic only by naming its
	// prefix, which shows the subject on the wire.
	wire := make(chan string, 10)
	stop, err := buses[2].Subscribe(spaces[0]+"."+subject+".x", func(s string, _ []byte) { wire <- s })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	for _, b := range buses {
		if err := b.nc.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	for i, b := range buses {
		if err := b.Broadcast(subject+".x", []byte("from "+spaces[i])); err != nil {
			t.Fatal(err)
		}
		if err := b.nc.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	for i, b := range buses {
		if err := b.Broadcast(subject+".end", nil); err != nil {
			t.Fatal(err)
		}
		want := []string{subject + ".x=from " + spaces[i], subject + ".end="}
		if m := receive(t, got[i], 2); !slices.Equal(m, want) {
			t.Fatalf("deployment %q received %q, want only its own broadcasts %q", spaces[i], m, want)
		}
	}
	if s := receive(t, wire, 1)[0]; s != spaces[0]+"."+subject+".x" {
		t.Fatalf("the namespace's broadcast travelled on %q, want %s.%s.x", s, spaces[0], subject)
	}
}

// TestNamespaceChecked refuses a namespace that would not make valid stream
// names and subjects.
func TestNamespaceChecked(t *testing.T) {
	e := startEmbedded(t, t.TempDir())
	for _, ns := range []string{"a.b", "a b", "a*", strings.Repeat("x", 33)} {
		if b, err := e.Connect(t.Context(), WithLogger(quietLogger()), WithNamespace(ns)); err == nil {
			b.Close()
			t.Errorf("namespace %q accepted", ns)
		}
	}
}

func suite(t *testing.T, newBus func(*testing.T) *Bus) {
	// Deleting an account's last stream makes nats-server remove the empty
	// streams directory in a background goroutine, which can race with the
	// next stream's creation ("error creating store for stream", seen with
	// the embedded 2.15.2). Real deployments never delete their last
	// stream; the suite keeps one alive so its per-test deletions do not
	// either.
	ensureStream(t, newBus(t))

	t.Run("PublishThenConsumeInOrder", func(t *testing.T) { testInOrder(t, newBus(t)) })
	t.Run("HandlerErrorRedelivers", func(t *testing.T) { testRedelivery(t, newBus(t)) })
	t.Run("DuplicateMsgIDStoredOnce", func(t *testing.T) { testDuplicates(t, newBus(t)) })
	t.Run("DurableResumesAfterStop", func(t *testing.T) { testResume(t, newBus(t)) })
	t.Run("StopUnderLoadLosesNothing", func(t *testing.T) { testStopUnderLoad(t, newBus(t)) })
	t.Run("OneHandlerAtATimeByDefault", func(t *testing.T) { testSerial(t, newBus(t)) })
	t.Run("ConcurrentHandlers", func(t *testing.T) { testConcurrent(t, newBus(t)) })
	t.Run("SlowHandlerNotRedelivered", func(t *testing.T) { testSlowHandler(t, newBus(t)) })
	t.Run("EnsureStreamUpdates", func(t *testing.T) { testEnsureUpdates(t, newBus(t)) })
	t.Run("BroadcastReachesEverySubscriber", func(t *testing.T) { testBroadcast(t, newBus(t), newBus(t)) })
	t.Run("Ready", func(t *testing.T) {
		if err := newBus(t).Ready(t.Context()); err != nil {
			t.Fatalf("Ready on a live bus: %v", err)
		}
	})
	t.Run("PublishWithoutStream", func(t *testing.T) {
		err := newBus(t).Publish(t.Context(), "mqtest.nostream."+unique(t), "", []byte("x"))
		if err == nil || !strings.Contains(err.Error(), "no stream") {
			t.Fatalf("publish to an uncaptured subject: got %v, want a no-stream error", err)
		}
	})
}

func testInOrder(t *testing.T, b *Bus) {
	name := ensureStream(t, b)
	const n = 20
	for i := range n {
		publish(t, b, name+".x", fmt.Sprintf("id-%d", i), fmt.Sprint(i))
	}
	got := make(chan Msg, n)
	consume(t, b, ConsumerSpec{Stream: name, Durable: "d"}, func(_ context.Context, m Msg) error {
		got <- m
		return nil
	})
	msgs := receive(t, got, n)
	for i, m := range msgs {
		if string(m.Data) != fmt.Sprint(i) || m.ID != fmt.Sprintf("id-%d", i) ||
			m.StreamSeq != uint64(i+1) || m.Delivery != 1 || m.Subject != name+".x" {
			t.Fatalf("message %d = %+v, want data %d, id id-%d, seq %d, first delivery", i, m, i, i, i+1)
		}
	}
}

func testRedelivery(t *testing.T, b *Bus) {
	name := ensureStream(t, b)
	publish(t, b, name+".x", "", "a")
	publish(t, b, name+".x", "", "b")
	type delivery struct {
		data  string
		count uint64
	}
	got := make(chan delivery, 10)
	consume(t, b, ConsumerSpec{Stream: name, Durable: "d", RetryDelay: 10 * time.Millisecond},
		func(_ context.Context, m Msg) error {
			got <- delivery{string(m.Data), m.Delivery}
			if string(m.Data) == "a" && m.Delivery < 3 {
				return errors.New("transient failure")
			}
			return nil
		})
	var deliveries []uint64
	for _, d := range receive(t, got, 4) {
		if d.data == "a" {
			deliveries = append(deliveries, d.count)
		}
	}
	if !slices.Equal(deliveries, []uint64{1, 2, 3}) {
		t.Fatalf("deliveries of the failing message = %v, want [1 2 3]", deliveries)
	}
	waitSettled(t, b, name, "d", 2)
}

func testDuplicates(t *testing.T, b *Bus) {
	name := ensureStream(t, b)
	publish(t, b, name+".x", "same", "first")
	publish(t, b, name+".x", "same", "second")
	publish(t, b, name+".x", "other", "third")
	st, err := b.js.Stream(t.Context(), b.ns.stream(name))
	if err != nil {
		t.Fatal(err)
	}
	if n := st.CachedInfo().State.Msgs; n != 2 {
		t.Fatalf("stream holds %d messages, want 2 (one duplicate dropped)", n)
	}
	got := make(chan Msg, 3)
	consume(t, b, ConsumerSpec{Stream: name, Durable: "d"}, func(_ context.Context, m Msg) error {
		got <- m
		return nil
	})
	msgs := receive(t, got, 2)
	if string(msgs[0].Data) != "first" || string(msgs[1].Data) != "third" {
		t.Fatalf("consumed %q, %q; want first, third", msgs[0].Data, msgs[1].Data)
	}
}

func testResume(t *testing.T, b *Bus) {
	name := ensureStream(t, b)
	for i := 1; i <= 5; i++ {
		publish(t, b, name+".x", "", strconv.Itoa(i))
	}
	spec := ConsumerSpec{Stream: name, Durable: "d"}

	// First run: handle messages 1..3 and stop while 3 is in flight; Stop
	// must wait for it, and 4 and 5 must stay for the next run.
	first := make(chan Msg, 5)
	reached, release := make(chan struct{}), make(chan struct{})
	sub, err := b.Consume(t.Context(), spec, func(_ context.Context, m Msg) error {
		first <- m
		if m.StreamSeq == 3 {
			close(reached)
			<-release
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	wait(t, reached, "message 3 in the handler")
	stopped := make(chan struct{})
	go func() { sub.Stop(); close(stopped) }()
	wait(t, sub.(*subscription).stopping, "Stop to begin")
	close(release)
	wait(t, stopped, "Stop to return")
	close(first)
	var seqs []uint64
	for m := range first {
		seqs = append(seqs, m.StreamSeq)
	}
	if !slices.Equal(seqs, []uint64{1, 2, 3}) {
		t.Fatalf("first run handled %v, want [1 2 3]", seqs)
	}

	publish(t, b, name+".x", "", "6")
	second := make(chan Msg, 10)
	consume(t, b, spec, func(_ context.Context, m Msg) error {
		second <- m
		return nil
	})
	seqs = seqs[:0]
	for _, m := range receive(t, second, 3) {
		seqs = append(seqs, m.StreamSeq)
	}
	slices.Sort(seqs)
	if !slices.Equal(seqs, []uint64{4, 5, 6}) {
		t.Fatalf("second run handled %v, want [4 5 6] (nothing acked before)", seqs)
	}
	waitSettled(t, b, name, "d", 6)
	select {
	case m := <-second:
		t.Fatalf("unexpected extra delivery %+v", m)
	default:
	}
}

// testStopUnderLoad stops a concurrent subscription while messages are
// arriving and checks a second one handles everything the first did not.
func testStopUnderLoad(t *testing.T, b *Bus) {
	name := ensureStream(t, b)
	const n = 200
	for i := range n {
		publish(t, b, name+".x", "", strconv.Itoa(i))
	}
	spec := ConsumerSpec{Stream: name, Durable: "d", Concurrency: 4}
	var mu sync.Mutex
	seen := make(map[uint64]bool)
	record := func(_ context.Context, m Msg) error {
		mu.Lock()
		defer mu.Unlock()
		seen[m.StreamSeq] = true
		return nil
	}
	count := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(seen)
	}
	sub, err := b.Consume(t.Context(), spec, record)
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "some messages handled", func() error {
		if count() < n/4 {
			return errors.New("not yet")
		}
		return nil
	})
	sub.Stop()
	if c := count(); c == n {
		t.Log("the first subscription finished everything before Stop; nothing left to hand over")
	}
	consume(t, b, spec, record)
	eventually(t, "every message handled", func() error {
		if c := count(); c != n {
			return fmt.Errorf("%d of %d handled", c, n)
		}
		return nil
	})
	waitSettled(t, b, name, "d", n)
}

func testSerial(t *testing.T, b *Bus) {
	name := ensureStream(t, b)
	const n = 30
	for i := range n {
		publish(t, b, name+".x", "", strconv.Itoa(i))
	}
	var running, peak atomic.Int32
	got := make(chan Msg, n)
	consume(t, b, ConsumerSpec{Stream: name, Durable: "d"}, func(_ context.Context, m Msg) error {
		r := running.Add(1)
		defer running.Add(-1)
		if r > peak.Load() {
			peak.Store(r)
		}
		got <- m
		return nil
	})
	for i, m := range receive(t, got, n) {
		if m.StreamSeq != uint64(i+1) {
			t.Fatalf("message %d has seq %d: out of order", i, m.StreamSeq)
		}
	}
	if p := peak.Load(); p != 1 {
		t.Fatalf("%d handlers ran at once, want 1", p)
	}
}

func testConcurrent(t *testing.T, b *Bus) {
	name := ensureStream(t, b)
	const workers = 4
	for i := range workers {
		publish(t, b, name+".x", "", strconv.Itoa(i))
	}
	// Every handler waits until all of them are running at once, which only
	// happens if the subscription really runs `workers` handlers in parallel.
	var mu sync.Mutex
	running := 0
	all := make(chan struct{})
	done := make(chan Msg, workers)
	consume(t, b, ConsumerSpec{Stream: name, Durable: "d", Concurrency: workers}, func(ctx context.Context, m Msg) error {
		mu.Lock()
		running++
		if running == workers {
			close(all)
		}
		mu.Unlock()
		select {
		case <-all:
		case <-ctx.Done():
			return ctx.Err()
		}
		done <- m
		return nil
	})
	wait(t, all, fmt.Sprintf("%d handlers running at once", workers))
	receive(t, done, workers)
}

// testSlowHandler runs two subscriptions on one durable consumer, like two
// replicas of a role. A handler that takes several AckWaits must keep its
// message: without progress reports the server would redeliver it to the
// idle replica.
func testSlowHandler(t *testing.T, b *Bus) {
	name := ensureStream(t, b)
	const ackWait = time.Second
	spec := ConsumerSpec{Stream: name, Durable: "d", AckWait: ackWait}
	got := make(chan Msg, 4)
	handler := func(_ context.Context, m Msg) error {
		got <- m
		if string(m.Data) == "slow" {
			<-time.After(3 * ackWait) // Simulated work, not synchronisation.
		}
		return nil
	}
	consume(t, b, spec, handler)
	consume(t, b, spec, handler)
	publish(t, b, name+".x", "", "slow")
	if m := receive(t, got, 1)[0]; m.Delivery != 1 {
		t.Fatalf("first delivery has count %d", m.Delivery)
	}
	waitSettled(t, b, name, "d", 1)
	select {
	case m := <-got:
		t.Fatalf("the slow message was delivered again (delivery %d) while being handled", m.Delivery)
	default:
	}
	c, err := b.js.Consumer(t.Context(), b.ns.stream(name), "d")
	if err != nil {
		t.Fatal(err)
	}
	if n := c.CachedInfo().Delivered.Consumer; n != 1 {
		t.Fatalf("server made %d deliveries of one message", n)
	}
}

func testEnsureUpdates(t *testing.T, b *Bus) {
	name := ensureStream(t, b)
	spec := StreamSpec{Name: name, Subjects: []string{name + ".>"}, MaxAge: 2 * time.Hour, Duplicates: time.Minute}
	if err := b.EnsureStream(t.Context(), spec); err != nil {
		t.Fatalf("updating an existing stream: %v", err)
	}
	st, err := b.js.Stream(t.Context(), b.ns.stream(name))
	if err != nil {
		t.Fatal(err)
	}
	if cfg := st.CachedInfo().Config; cfg.MaxAge != 2*time.Hour || cfg.Duplicates != time.Minute {
		t.Fatalf("after update MaxAge=%v Duplicates=%v, want 2h and 1m", cfg.MaxAge, cfg.Duplicates)
	}
}

// TestEmbeddedRestartKeepsMessages checks that both the stored messages and
// the durable consumer's position survive a clean restart.
func TestEmbeddedRestartKeepsMessages(t *testing.T) {
	dir := t.TempDir()
	ctx := t.Context()
	spec := ConsumerSpec{Stream: "events", Durable: "d"}

	e := startEmbedded(t, dir)
	b, err := e.Connect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.EnsureStream(ctx, StreamSpec{Name: "events", Subjects: []string{"events.>"}}); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 3; i++ {
		publish(t, b, "events.x", "", strconv.Itoa(i))
	}
	got := make(chan Msg, 3)
	sub, err := b.Consume(ctx, spec, func(_ context.Context, m Msg) error { got <- m; return nil })
	if err != nil {
		t.Fatal(err)
	}
	receive(t, got, 3)
	sub.Stop()
	publish(t, b, "events.x", "", "4")
	publish(t, b, "events.x", "", "5")
	b.Close()
	e.Shutdown()

	e = startEmbedded(t, dir)
	b = connectEmbedded(t, e)
	got = make(chan Msg, 5)
	consume(t, b, spec, func(_ context.Context, m Msg) error { got <- m; return nil })
	msgs := receive(t, got, 2)
	if string(msgs[0].Data) != "4" || string(msgs[1].Data) != "5" {
		t.Fatalf("after restart consumed %q, %q; want the unconsumed 4, 5", msgs[0].Data, msgs[1].Data)
	}
}

// TestEmbeddedSurvivesKill publishes from a child process, kills it with
// SIGKILL right after the last ack and checks every acknowledged message is
// there when the store is opened again.
func TestEmbeddedSurvivesKill(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), killHelperEnv+"="+dir)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("helper said nothing: %v", err)
	}
	acked, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil || acked != killHelperMessages {
		t.Fatalf("helper reported %q, want %d acknowledged messages", line, killHelperMessages)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait() // Killed: the error is expected.

	e := startEmbedded(t, dir)
	b := connectEmbedded(t, e)
	got := make(chan Msg, killHelperMessages)
	consume(t, b, ConsumerSpec{Stream: "killed", Durable: "d"}, func(_ context.Context, m Msg) error {
		got <- m
		return nil
	})
	for i, m := range receive(t, got, killHelperMessages) {
		if string(m.Data) != strconv.Itoa(i) {
			t.Fatalf("message %d = %q after kill -9", i, m.Data)
		}
	}
}

const killHelperMessages = 200

// killHelper publishes killHelperMessages messages, reports how many were
// acknowledged and then blocks until the parent kills the process.
func killHelper(dir string) int {
	ctx := context.Background()
	e, err := StartEmbedded(ctx, EmbeddedOptions{StoreDir: dir})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	b, err := e.Connect(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := b.EnsureStream(ctx, StreamSpec{Name: "killed", Subjects: []string{"killed.>"}}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	for i := range killHelperMessages {
		if err := b.Publish(ctx, "killed.x", "", []byte(strconv.Itoa(i))); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	fmt.Println(killHelperMessages)
	select {}
}

func TestEmbeddedReadyFailsAfterShutdown(t *testing.T) {
	e := startEmbedded(t, t.TempDir())
	b := connectEmbedded(t, e)
	if err := b.Ready(t.Context()); err != nil {
		t.Fatalf("Ready before shutdown: %v", err)
	}
	e.Shutdown()
	eventually(t, "Ready to fail after the server shut down", func() error {
		ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
		defer cancel()
		if b.Ready(ctx) == nil {
			return errors.New("Ready still succeeds")
		}
		return nil
	})
}

// TestCloseWhileServerDown checks that shutting down a role does not hang on
// a bus whose server is gone: Stop's drain needs a server round trip.
func TestCloseWhileServerDown(t *testing.T) {
	e := startEmbedded(t, t.TempDir())
	b, err := e.Connect(t.Context(), WithLogger(quietLogger()))
	if err != nil {
		t.Fatal(err)
	}
	if err := b.EnsureStream(t.Context(), StreamSpec{Name: "s", Subjects: []string{"s.>"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Consume(t.Context(), ConsumerSpec{Stream: "s", Durable: "d"}, func(context.Context, Msg) error { return nil }); err != nil {
		t.Fatal(err)
	}
	e.Shutdown()
	eventually(t, "the client to notice", func() error {
		if b.nc.IsConnected() {
			return errors.New("still connected")
		}
		return nil
	})
	closed := make(chan struct{})
	go func() { b.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("Close still blocked 5s after the server went away")
	}
}

func TestEmbeddedListener(t *testing.T) {
	e, err := StartEmbedded(t.Context(), EmbeddedOptions{StoreDir: t.TempDir(), Listen: "127.0.0.1:0", Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Shutdown)
	url := e.ClientURL()
	if !strings.HasPrefix(url, "nats://127.0.0.1:") || strings.HasSuffix(url, ":0") || strings.HasSuffix(url, ":-1") {
		t.Fatalf("ClientURL = %q, want the bound loopback port", url)
	}
	b, err := Connect(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := b.Ready(t.Context()); err != nil {
		t.Fatalf("Ready over TCP: %v", err)
	}

	noListener := startEmbedded(t, t.TempDir())
	if u := noListener.ClientURL(); u != "" {
		t.Fatalf("ClientURL without a listener = %q, want empty", u)
	}
}

func TestEmbeddedListenTaken(t *testing.T) {
	e, err := StartEmbedded(t.Context(), EmbeddedOptions{StoreDir: t.TempDir(), Listen: "127.0.0.1:0", Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Shutdown)
	addr := strings.TrimPrefix(e.ClientURL(), "nats://")
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	e2, err := StartEmbedded(ctx, EmbeddedOptions{StoreDir: t.TempDir(), Listen: addr, Logger: quietLogger()})
	if err == nil {
		e2.Shutdown()
		t.Fatalf("second server on %s started; want an error", addr)
	}
	if ctx.Err() != nil {
		t.Fatalf("start failure was only noticed by the deadline: %v", err)
	}
}

func TestConnectUnreachable(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	_, err := Connect(ctx, "nats://user:secret@127.0.0.1:1")
	if err == nil {
		t.Fatal("connecting to a closed port succeeded")
	}
	if msg := err.Error(); !strings.Contains(msg, "127.0.0.1:1") || strings.Contains(msg, "secret") {
		t.Fatalf("error %q should name the address without the password", msg)
	}
}

func TestRetryDelayBacksOff(t *testing.T) {
	s := &subscription{spec: ConsumerSpec{RetryDelay: time.Second, MaxRetryDelay: 5 * time.Second}}
	for delivery, want := range map[uint64]time.Duration{1: time.Second, 2: 2 * time.Second, 3: 4 * time.Second, 4: 5 * time.Second, 1000: 5 * time.Second} {
		if got := s.retryDelay(delivery); got != want {
			t.Errorf("retryDelay(%d) = %v, want %v", delivery, got, want)
		}
	}
}

// Helpers.

const waitFor = 15 * time.Second

func quietLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

func startEmbedded(t *testing.T, dir string) *Embedded {
	t.Helper()
	e, err := StartEmbedded(t.Context(), EmbeddedOptions{StoreDir: dir, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Shutdown)
	return e
}

func connectEmbedded(t *testing.T, e *Embedded, opts ...Option) *Bus {
	t.Helper()
	b, err := e.Connect(t.Context(), append([]Option{WithLogger(quietLogger())}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	return b
}

func connectURL(t *testing.T, url string, opts ...Option) *Bus {
	t.Helper()
	b, err := Connect(t.Context(), url, append([]Option{WithName("mq-test"), WithLogger(quietLogger())}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	return b
}

// unique returns a name no other test run uses, so suites can share a server.
func unique(t *testing.T) string {
	t.Helper()
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return "mqtest_" + hex.EncodeToString(b[:])
}

// ensureStream creates a fresh stream capturing NAME.> and deletes it when the
// test ends.
func ensureStream(t *testing.T, b *Bus) string {
	t.Helper()
	name := unique(t)
	if err := b.EnsureStream(t.Context(), StreamSpec{Name: name, Subjects: []string{name + ".>"}, MaxAge: time.Hour}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// Generous: on a loaded machine the embedded server can take seconds.
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := b.DeleteStream(ctx, name); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})
	return name
}

func publish(t *testing.T, b *Bus, subject, id, data string) {
	t.Helper()
	if err := b.Publish(t.Context(), subject, id, []byte(data)); err != nil {
		t.Fatal(err)
	}
}

func consume(t *testing.T, b *Bus, spec ConsumerSpec, h Handler) {
	t.Helper()
	sub, err := b.Consume(t.Context(), spec, h)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sub.Stop)
}

// receive waits for n values from ch, failing the test at the deadline.
func receive[T any](t *testing.T, ch <-chan T, n int) []T {
	t.Helper()
	timeout := time.After(waitFor)
	out := make([]T, 0, n)
	for len(out) < n {
		select {
		case v := <-ch:
			out = append(out, v)
		case <-timeout:
			t.Fatalf("received %d of %d values before the deadline", len(out), n)
		}
	}
	return out
}

func wait(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(waitFor):
		t.Fatalf("timed out waiting for %s", what)
	}
}

// eventually polls cond until it returns nil, failing the test with cond's
// last error at the deadline.
func eventually(t *testing.T, what string, cond func() error) {
	t.Helper()
	deadline := time.After(waitFor)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		err := cond()
		if err == nil {
			return
		}
		select {
		case <-tick.C:
		case <-deadline:
			t.Fatalf("timed out waiting for %s: %v", what, err)
		}
	}
}

// waitSettled waits until the consumer has acknowledged everything up to
// lastSeq and has nothing pending or awaiting an ack.
func waitSettled(t *testing.T, b *Bus, stream, durable string, lastSeq uint64) {
	t.Helper()
	eventually(t, "the consumer to settle", func() error {
		c, err := b.js.Consumer(t.Context(), b.ns.stream(stream), durable)
		if err != nil {
			return err
		}
		i := c.CachedInfo()
		if i.AckFloor.Stream != lastSeq || i.NumPending != 0 || i.NumAckPending != 0 {
			return fmt.Errorf("ack floor %d (want %d), pending %d, ack pending %d",
				i.AckFloor.Stream, lastSeq, i.NumPending, i.NumAckPending)
		}
		return nil
	})
}

// testBroadcast checks that a broadcast reaches every current subscriber of its
// subject (wildcards included), in order, and nobody after stop.
func testBroadcast(t *testing.T, a, b *Bus) {
	subject := "mdouyin.test.broadcast." + strings.ToLower(rand.Text())
	got := [2]chan string{make(chan string, 10), make(chan string, 10)}
	stopA, err := a.Subscribe(subject+".*", func(s string, d []byte) { got[0] <- s + "=" + string(d) })
	if err != nil {
		t.Fatal(err)
	}
	stopB, err := b.Subscribe(subject+".x", func(s string, d []byte) { got[1] <- s + "=" + string(d) })
	if err != nil {
		t.Fatal(err)
	}
	defer stopB()
	// Subscriptions are registered at the server asynchronously; a flush makes
	// sure they are in place before the first broadcast.
	for _, bus := range []*Bus{a, b} {
		if err := bus.nc.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range []string{"1", "2"} {
		if err := b.Broadcast(subject+".x", []byte(d)); err != nil {
			t.Fatal(err)
		}
	}
	for i, ch := range got {
		for _, want := range []string{subject + ".x=1", subject + ".x=2"} {
			select {
			case m := <-ch:
				if m != want {
					t.Errorf("subscriber %d got %q; want %q", i, m, want)
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("subscriber %d did not get %q", i, want)
			}
		}
	}
	stopA()
	if err := a.nc.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := b.Broadcast(subject+".x", []byte("3")); err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-got[1]:
		if m != subject+".x=3" {
			t.Errorf("subscriber 1 got %q", m)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("subscriber 1 did not get the third broadcast")
	}
	if err := b.nc.Flush(); err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-got[0]:
		t.Errorf("a stopped subscription still received %q", m)
	default:
	}
	if _, err := a.Subscribe(subject, nil); err == nil {
		t.Error("Subscribe without a handler succeeded")
	}
}

// TestStreamReplicas checks that the bus's replica count reaches the server:
// a single server refuses three copies, and a stream's own count wins.
func TestStreamReplicas(t *testing.T) {
	e := startEmbedded(t, t.TempDir())
	b := connectEmbedded(t, e, WithReplicas(3))
	spec := StreamSpec{Name: "REPLICAS", Subjects: []string{"replicas.>"}}
	if err := b.EnsureStream(t.Context(), spec); err == nil {
		t.Fatal("a single server accepted a stream of 3 replicas")
	}
	spec.Replicas = 1
	if err := b.EnsureStream(t.Context(), spec); err != nil {
		t.Fatalf("a stream asking for 1 replica: %v", err)
	}
	st, err := b.js.Stream(t.Context(), "REPLICAS")
	if err != nil {
		t.Fatal(err)
	}
	if n := st.CachedInfo().Config.Replicas; n != 1 {
		t.Fatalf("stream has %d replicas, want 1", n)
	}
}

// TestConsumerInactiveThreshold checks that a consumer's inactivity threshold
// reaches the server, on every server available (the external one is the
// Debian 2.9 of CI machines, the oldest we support).
func TestConsumerInactiveThreshold(t *testing.T) {
	run := func(t *testing.T, b *Bus) {
		spec := StreamSpec{Name: "INACTIVE", Subjects: []string{"inactive.>"}}
		if err := b.EnsureStream(t.Context(), spec); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { b.DeleteStream(context.Background(), "INACTIVE") })
		sub, err := b.Consume(t.Context(), ConsumerSpec{Stream: "INACTIVE", Durable: "replica-1", InactiveThreshold: 90 * time.Minute},
			func(context.Context, Msg) error { return nil })
		if err != nil {
			t.Fatal(err)
		}
		defer sub.Stop()
		st, err := b.js.Stream(t.Context(), b.ns.stream("INACTIVE"))
		if err != nil {
			t.Fatal(err)
		}
		c, err := st.Consumer(t.Context(), "replica-1")
		if err != nil {
			t.Fatal(err)
		}
		if got := c.CachedInfo().Config.InactiveThreshold; got != 90*time.Minute {
			t.Fatalf("the server keeps an inactivity threshold of %v, want 90m", got)
		}
	}
	t.Run("embedded", func(t *testing.T) { run(t, connectEmbedded(t, startEmbedded(t, t.TempDir()))) })
	t.Run("external", func(t *testing.T) {
		run(t, connectURL(t, testenv.NATSURL(t), WithNamespace("inactive_"+strconv.FormatInt(time.Now().UnixNano(), 36))))
	})
}

// TestConsumerFromNow: a FromNow consumer created on a stream that already holds
// messages starts after them; created again (a restart), it keeps its position,
// so what was published while it was away still comes.
func TestConsumerFromNow(t *testing.T) {
	b := connectEmbedded(t, startEmbedded(t, t.TempDir()))
	ctx := t.Context()
	if err := b.EnsureStream(ctx, StreamSpec{Name: "FROMNOW", Subjects: []string{"fromnow.>"}}); err != nil {
		t.Fatal(err)
	}
	publish := func(s string) {
		t.Helper()
		if err := b.Publish(ctx, "fromnow.x", "", []byte(s)); err != nil {
			t.Fatal(err)
		}
	}
	got := make(chan string, 10)
	consume := func() Subscription {
		t.Helper()
		sub, err := b.Consume(ctx, ConsumerSpec{Stream: "FROMNOW", Durable: "late", FromNow: true},
			func(_ context.Context, m Msg) error { got <- string(m.Data); return nil })
		if err != nil {
			t.Fatal(err)
		}
		return sub
	}
	next := func(want string) {
		t.Helper()
		select {
		case s := <-got:
			if s != want {
				t.Fatalf("consumer got %q, want %q", s, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("consumer got nothing; want %q", want)
		}
	}
	publish("old-1")
	publish("old-2")
	sub := consume()
	publish("new-1")
	next("new-1")
	sub.Stop()
	publish("while-away")
	sub = consume()
	defer sub.Stop()
	next("while-away")
	publish("new-2")
	next("new-2")
}

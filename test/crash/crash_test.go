//go:build crash

package crash

import (
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

const (
	// loadUsers virtual users write at once, each as fast as it is answered.
	loadUsers = 16
	// loadVideos are published before the load: the targets of its likes and
	// comments.
	loadVideos = 4
	// The kill comes after a random stretch of load in [minLoad, maxLoad).
	// Past comment.publish_wait (3 s), so that comments acknowledged before
	// their writer stored them are among those a kill can catch.
	minLoad = 300 * time.Millisecond
	maxLoad = 5 * time.Second

	// settleTimeout bounds each verification: how long the lists and counts
	// may take to agree with the ledger after the restart. In a cluster, the
	// caches a killed comment writer had not yet brought up to date with a
	// comment it stored stay behind until the stream redelivers that write
	// (its ack wait, 30 s), so a kill of a comment process can take that long.
	settleTimeout = time.Minute
	// commentGrace is how long a verification waits for acknowledged comments
	// still in the write stream before leaving them to a later one: a writer
	// killed mid-message holds its partition until the stream redelivers the
	// message (its ack wait, 30 s), which would otherwise set the pace of
	// every cycle.
	commentGrace = 5 * time.Second
	// finalTimeout bounds the last verification, which waits for every
	// acknowledged comment.
	finalTimeout = 2 * time.Minute
	// reserve is the time kept back from the go test deadline, so that a run
	// out of time stops its processes rather than being killed with them.
	reserve = 3 * time.Minute
)

// TestCrashOneProcess kills the one-process server (every role, SQLite, the
// embedded NATS) under load, CRASH_CYCLES times.
func TestCrashOneProcess(t *testing.T) {
	seed := seedFor(t)
	cycles := envInt(t, "CRASH_CYCLES", 10)
	dir := t.TempDir()
	bin := buildBinary(t, dir)
	clips := makeClips(t, dir)
	p := startOneProcess(t, bin, dir)
	crashCycles(t, "one process", p, seed, cycles, clips, func(*rand.Rand, int) string { return "mdouyin" })
}

// TestCrashCluster kills one role process of a cluster (two replicas of every
// role, gateways included) under load, CRASH_CLUSTER_CYCLES times: each cycle
// another role in a random order (all eight roles in eight cycles), a random
// replica of it.
func TestCrashCluster(t *testing.T) {
	seed := seedFor(t)
	cycles := envInt(t, "CRASH_CLUSTER_CYCLES", 8)
	clips := makeClips(t, t.TempDir())
	p := startCluster(t)
	var order []string
	crashCycles(t, "cluster", p, seed, cycles, clips, func(rng *rand.Rand, cycle int) string {
		if (cycle-1)%len(clusterRoles) == 0 {
			order = append([]string{}, clusterRoles...)
			rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		}
		return fmt.Sprintf("%s-%d", order[(cycle-1)%len(order)], 1+rng.IntN(clusterReplicas))
	})
}

// crashCycles sets up the world, then runs the cycles: load, kill -9 at a
// random moment, `mdouyin check`, restart, verify.
func crashCycles(t *testing.T, what string, p placement, seed uint64, cycles int, clips [][]byte, victim func(*rand.Rand, int) string) {
	began := time.Now()
	c := newAPI(p.urls())
	t.Cleanup(c.hc.CloseIdleConnections)
	w := setupWorld(t, c, rand.New(rand.NewPCG(seed, 0)), loadUsers, loadVideos, clips)
	var vus []*vuser
	for i := range w.users {
		vus = append(vus, newVuser(w, c, i, seed))
	}
	vf := &verifier{c: c, w: w, vus: vus, tmp: t.TempDir(), media: map[string]bool{}, orphans: p.orphans()}
	pick := rand.New(rand.NewPCG(seed, 1))
	t.Logf("%s: %d virtual users, %d target videos, %d clips; writes by weight: %s; kill after %v-%v of load",
		what, loadUsers, loadVideos, len(clips), opsMix(), minLoad, maxLoad)

	total := newTally()
	var checks []string
	var resolved resolution
	for cycle := 1; cycle <= cycles; cycle++ {
		if d, ok := t.Deadline(); ok && time.Until(d) < reserve {
			t.Fatalf("stopping before cycle %d: less than %v left before the go test deadline", cycle, reserve)
		}
		rng := rand.New(rand.NewPCG(seed, 100+uint64(cycle)))
		loadFor := minLoad + time.Duration(rng.Int64N(int64(maxLoad-minLoad)))
		name := victim(pick, cycle)

		l := startLoad(vus, cycle)
		// The kill's moment is this test's input, drawn from the seed.
		<-time.After(loadFor)
		if err := p.kill(name); err != nil {
			l.halt()
			t.Fatalf("cycle %d: kill %s: %v", cycle, name, err)
		}
		l.halt()
		c.hc.CloseIdleConnections()
		cy := newTally()
		for _, v := range vus {
			cy.merge(v.tally)
		}
		total.merge(cy)

		checkOut, err := p.check()
		if err != nil {
			t.Fatalf("cycle %d (seed %d): after kill -9 of %s: %v", cycle, seed, name, err)
		}
		checks = append(checks, checkOut)

		restartAt := time.Now()
		if err := p.restart(name); err != nil {
			t.Fatalf("cycle %d: restart %s: %v", cycle, name, err)
		}
		ready := time.Since(restartAt)

		verifyAt := time.Now()
		vf.cycle = cycle
		v, err := vf.settle(rng, settleTimeout, commentGrace, false)
		if err != nil {
			t.Fatalf("cycle %d (seed %d, kill -9 of %s after %v of load): %v", cycle, seed, name, loadFor.Round(time.Millisecond), err)
		}
		accProblems, accChecked, accRes := vf.checkAccounts()
		if len(accProblems) > 0 {
			t.Fatalf("cycle %d (seed %d, kill -9 of %s): accounts:\n  %s", cycle, seed, name, strings.Join(accProblems, "\n  "))
		}
		res := resolution{applied: v.resolved.applied + accRes.applied, absent: v.resolved.absent + accRes.absent}
		resolved.applied += res.applied
		resolved.absent += res.absent
		t.Logf("cycle %d/%d: kill -9 %s after %v of load; writes acknowledged %d (%s), unknown outcome %d (%s), not sent %d; "+
			"check: %s; ready %v after restart; verified %d facts and counts and %d accounts in %v; unknown outcomes settled: %s%s",
			cycle, cycles, name, loadFor.Round(time.Millisecond), cy.n[acked], cy.byOutcome(func(c [serverError + 1]int) int { return c[acked] }),
			cy.unknowns(), cy.byOutcome(func(c [serverError + 1]int) int { return c[refused] + c[unanswered] + c[serverError] }),
			cy.n[notSent], strings.TrimPrefix(checkOut, "checked "), ready.Round(10*time.Millisecond), v.checked, accChecked,
			time.Since(verifyAt).Round(10*time.Millisecond), res, awaitingNote(v.awaiting))
		if v.waited != "" {
			t.Logf("    verification %s", v.waited)
		}
		if cy.n[refused]+cy.n[serverError] > 0 {
			t.Logf("    refusals: %s", cy.topRefusals(5))
		}
	}

	// Every acknowledged comment must be listed by the end.
	finalAt := time.Now()
	v, err := vf.settle(rand.New(rand.NewPCG(seed, 2)), finalTimeout, 0, true)
	if err != nil {
		t.Fatalf("final verification (seed %d): %v", seed, err)
	}
	checkOut, err := p.check()
	if err != nil {
		t.Fatalf("final check (seed %d): %v", seed, err)
	}
	t.Logf("final: every acknowledged write listed after %v; verified %d facts and counts; check: %s",
		time.Since(finalAt).Round(10*time.Millisecond), v.checked, strings.TrimPrefix(checkOut, "checked "))
	if total.n[serverError] > 0 {
		t.Errorf("%d answers were HTTP 5xx:%s", total.n[serverError], total.topRefusals(5))
	}
	resolved.applied += v.resolved.applied
	resolved.absent += v.resolved.absent
	t.Logf("TOTAL %s: %d cycles survived in %v (seed %d); writes acknowledged %d, unknown outcome %d (%s), not sent %d, 5xx %d; "+
		"every acknowledged write verified after every restart; mdouyin check found no difference in %d runs",
		what, cycles, time.Since(began).Round(time.Second), seed, total.n[acked], total.unknowns(), resolved, total.n[notSent],
		total.n[serverError], len(checks)+1)
}

func awaitingNote(cs []*commentRec) string {
	if len(cs) == 0 {
		return ""
	}
	return fmt.Sprintf("; %d acknowledged comments still in the write stream, checked later", len(cs))
}

// seedFor returns CRASH_SEED, or a new seed, and logs it for a replay.
func seedFor(t *testing.T) uint64 {
	t.Helper()
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("CRASH_SEED"); s != "" {
		var err error
		if seed, err = strconv.ParseUint(s, 10, 64); err != nil {
			t.Fatalf("CRASH_SEED=%q: %v", s, err)
		}
	}
	t.Logf("seed %d (replay with CRASH_SEED=%d)", seed, seed)
	return seed
}

func envInt(t *testing.T, name string, def int) int {
	t.Helper()
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		t.Fatalf("%s=%q: want a positive number", name, s)
	}
	return n
}

//go:build failover

package failover

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mdouyin/mdouyin/internal/platform/testenv"
)

// The load and the scenarios' timing. Two cores run sixteen mdouyin processes,
// MariaDB, Redis, NATS, etcd and versitygw beside the load, so the load is
// moderate: about eighty requests a second.
const (
	loadUsers    = 16
	loadVideos   = 5
	loadInterval = 100 * time.Millisecond // per virtual user

	// replicaDown is how long a killed replica stays down: longer than its
	// etcd registration outlives it (5 s) and callers take to notice (their
	// 1 s refresh), so callers must cope both with a dead address still
	// listed and with its removal; for the last routedAround of it no request
	// may fail.
	replicaDown  = 8 * time.Second
	routedAround = 2 * time.Second
	redisDown    = 6 * time.Second
	natsDown     = 8 * time.Second
	// userDownObserve is how long the degraded answers are checked once they
	// began.
	userDownObserve = 5 * time.Second

	// steadyTimeout bounds the wait for error-free load before a scenario;
	// recoverTimeout the wait for it after the piece came back.
	steadyTimeout  = 60 * time.Second
	recoverTimeout = 45 * time.Second
	// settleTimeout bounds the wait for every fact and count to agree once the
	// load stops. A comment writer killed mid-message holds its partition
	// until the stream redelivers (30 s ack wait).
	settleTimeout = 2 * time.Minute
)

// The assertions on error rates are generous: they catch a storm, not a few
// requests caught in flight by a kill.
const (
	// maxKillErrorRate bounds the share of failed requests from a replica's kill
	// until errors stopped.
	maxKillErrorRate = 0.10
	// maxWorstSecond bounds the share of failed requests in the worst second.
	maxWorstSecond = 0.25
	// natsWriteBound bounds how long a write that needs NATS may take to fail
	// while NATS is down. The comment role gives up on the stream after
	// JetStream's publish timeout (5 s); a hang would run into the client's 30 s.
	natsWriteBound = 10 * time.Second
)

// TestFailover starts the cluster, puts it under load, and takes pieces away in
// turn; at the end every acknowledged write must be there and every count must
// equal its facts.
func TestFailover(t *testing.T) {
	clip := testenv.Clip(t)
	c := startCluster(t)
	ctx, cancel := context.WithCancel(context.Background())
	g := newGateways(ctx, c.gatewayURLs)
	// Idle keep-alive connections would hold the gateways' graceful shutdown.
	t.Cleanup(func() { cancel(); g.close() })

	w := setupWorld(t, g, loadUsers, loadVideos, clip)
	rep := &report{}
	t.Cleanup(func() { rep.print(t) })
	rep.add("load: %d virtual users, one request each every %v at most, over %d gateways; %d videos; ops by weight: %s",
		loadUsers, loadInterval, len(c.gatewayURLs), loadVideos, opsMix())

	l := startLoad(w, g, loadInterval)
	halted := false
	defer func() {
		if !halted {
			l.halt()
		}
	}()
	if _, ok := l.rec.waitQuiet(l.began, steadyTimeout); !ok {
		now := time.Now()
		f := summarize(l.rec.between(l.began, now), l.began, now)
		t.Fatalf("the load never ran error-free for %d s: %d errors in %d requests (%s)%s",
			quietWindows, f.errors, f.requests, f.errorsByOp(), f.topMessages(8))
	}
	steady := time.Now()
	f := summarize(l.rec.between(l.began, steady), l.began, steady)
	rep.add("warm-up: %d requests in %v, %d errors, %d 5xx", f.requests, steady.Sub(l.began).Round(time.Second), f.errors, f.fivexx)

	for i, role := range append([]string{"gateway"}, serviceRoles...) {
		t.Run("kill-"+role, func(t *testing.T) { killReplica(t, c, l, rep, c.procs[role][i%replicas]) })
	}
	t.Run("redis-down", func(t *testing.T) { redisOutage(t, c, l, rep) })
	t.Run("nats-down", func(t *testing.T) { natsOutage(t, c, l, g, w, rep) })
	t.Run("user-role-down", func(t *testing.T) { userRoleOutage(t, c, l, g, w, rep) })

	l.halt()
	halted = true
	f = summarize(l.rec.between(l.began, l.ended), l.began, l.ended)
	rep.add("whole run: %d requests in %v (%.0f/s), %d errors, %d 5xx", f.requests, l.ended.Sub(l.began).Round(time.Second),
		float64(f.requests)/l.ended.Sub(l.began).Seconds(), f.errors, f.fivexx)
	if f.fivexx > 0 {
		t.Errorf("%d answers were HTTP 5xx, e.g.:\n%s", f.fivexx, strings.Join(l.rec.worst, "\n"))
	}
	t.Run("acknowledged-writes-and-counts", func(t *testing.T) { verifyWrites(t, g, w, l, rep) })
}

// waitSteady fails the test unless the load runs error-free before a scenario.
func waitSteady(t *testing.T, l *load, what string) {
	t.Helper()
	if _, ok := l.rec.waitQuiet(time.Time{}, steadyTimeout); !ok {
		now := time.Now()
		from := now.Add(-10 * time.Second)
		f := summarize(l.rec.between(from, now), from, now)
		t.Fatalf("before %s: the load did not run error-free for %d s within %v; last 10 s: %d errors in %d requests (%s)%s",
			what, quietWindows, steadyTimeout, f.errors, f.requests, f.errorsByOp(), f.topMessages(8))
	}
}

// hold keeps a piece down for d while the load runs. It is the length of the
// observation window, not a wait for anything to happen.
func hold(d time.Duration) { <-time.After(d) }

// killReplica kills one replica with SIGKILL under load, keeps it down for
// replicaDown, starts it again and waits for the errors to stop.
func killReplica(t *testing.T, c *cluster, l *load, rep *report, p *proc) {
	waitSteady(t, l, "killing "+p.name)
	killAt := time.Now()
	p.kill()
	hold(replicaDown)
	restartAt := time.Now()
	if err := c.startAndWait(p); err != nil {
		t.Fatal(err)
	}
	readyAt := time.Now()
	_, recovered := l.rec.waitQuiet(readyAt, recoverTimeout)
	end := time.Now()
	rep.scenario("kill "+p.name, killAt, end)
	f := summarize(l.rec.between(killAt, end), killAt, end)
	// With the replica still down, the cluster must have stopped failing.
	lateFrom := restartAt.Add(-routedAround)
	late := summarize(l.rec.between(lateFrom, restartAt), lateFrom, restartAt)
	rep.add("kill -9 %s (down %v, ready again %s after restart): %d requests, %d errors (%.1f%%), %d 5xx; %s; %s",
		p.name, replicaDown, secs(readyAt.Sub(restartAt)), f.requests, f.errors, 100*f.rate(), f.fivexx,
		f.worstSecond(), errorsEnd(f, killAt, restartAt))
	rep.detail("errors by op: %s%s", f.errorsByOp(), f.topMessages(4))

	if late.errors > 0 {
		t.Errorf("%d of %d requests failed in the last %v before %s's restart: the cluster did not route around the dead replica: %s%s",
			late.errors, late.requests, routedAround, p.name, late.errorsByOp(), late.topMessages(6))
	}
	if !recovered {
		t.Errorf("errors did not stop within %v of %s's restart", recoverTimeout, p.name)
	}
	assertRates(t, f, p.name)
}

// errorsEnd says when the last error happened, relative to the kill and to the
// restart.
func errorsEnd(f figures, killAt, restartAt time.Time) string {
	if f.errors == 0 {
		return "no errors at all"
	}
	after := f.lastError.Sub(restartAt)
	if after < 0 {
		return fmt.Sprintf("last error %s after the kill, %s before the restart", secs(f.lastError.Sub(killAt)), secs(-after))
	}
	return fmt.Sprintf("last error %s after the kill, %s after the restart", secs(f.lastError.Sub(killAt)), secs(after))
}

func assertRates(t *testing.T, f figures, what string) {
	t.Helper()
	if f.fivexx > 0 {
		t.Errorf("%s: %d answers were HTTP 5xx", what, f.fivexx)
	}
	if f.rate() > maxKillErrorRate {
		t.Errorf("%s: %.1f%% of requests failed (at most %.0f%% allowed): %s%s", what, 100*f.rate(), 100*maxKillErrorRate, f.errorsByOp(), f.topMessages(6))
	}
	if f.worst.rate() > maxWorstSecond {
		t.Errorf("%s: %d of %d requests failed in the worst second (at most %.0f%% allowed): %s%s", what, f.worst.errors, f.worst.requests,
			100*maxWorstSecond, f.errorsByOp(), f.topMessages(6))
	}
}

// redisOutage stops Redis under load: reads must fall back to the database and
// keep answering, nothing may answer 5xx, and the caches must fill again after
// Redis returns.
func redisOutage(t *testing.T, c *cluster, l *load, rep *report) {
	waitSteady(t, l, "stopping Redis")
	killAt := time.Now()
	c.redis.kill()
	hold(redisDown)
	restartAt := time.Now()
	c.startRedis()
	var keysAfter time.Duration
	c.poll("the caches fill Redis again", recoverTimeout, func() (bool, string) {
		n, err := c.redisKeys()
		keysAfter = time.Since(restartAt)
		return err == nil && n > 0, fmt.Sprintf("%d keys, %v", n, err)
	})
	_, recovered := l.rec.waitQuiet(restartAt, recoverTimeout)
	end := time.Now()
	rep.scenario("redis down", killAt, end)

	f := summarize(l.rec.between(killAt, end), killAt, end)
	outage := l.rec.between(killAt, restartAt)
	reads := summarize(filter(outage, func(s sample) bool { return s.read }), killAt, restartAt)
	writes := summarize(filter(outage, func(s sample) bool { return !s.read }), killAt, restartAt)
	rep.add("redis down %v: %d requests, %d errors, %d 5xx; during the outage reads %d/%d failed, writes %d/%d failed; keys in Redis again %s after restart; %s",
		redisDown, f.requests, f.errors, f.fivexx, reads.errors, reads.requests, writes.errors, writes.requests, secs(keysAfter), errorsEnd(f, killAt, restartAt))
	rep.detail("errors by op: %s%s", f.errorsByOp(), f.topMessages(6))

	if f.fivexx > 0 {
		t.Errorf("Redis down: %d answers were HTTP 5xx", f.fivexx)
	}
	if reads.errors > 0 {
		t.Errorf("Redis down: %d of %d reads failed; reads must fall back to the database: %s%s", reads.errors, reads.requests, reads.errorsByOp(), reads.topMessages(6))
	}
	if !recovered {
		t.Errorf("errors did not stop within %v of Redis's restart: %s%s", recoverTimeout, f.errorsByOp(), f.topMessages(6))
	}
}

// natsOutage stops NATS under load: writes that need it must fail fast with a
// clear error, nothing acknowledged may be lost (checked at the end), and the
// consumers must resume once it returns.
func natsOutage(t *testing.T, c *cluster, l *load, g *gateways, w *world, rep *report) {
	waitSteady(t, l, "stopping NATS")
	killAt := time.Now()
	c.nats.kill()
	hold(natsDown)
	restartAt := time.Now()
	c.startNATS()

	// A comment published now must reach its writer and its list: the write
	// stream's consumers are back.
	vid := w.videos[0].id
	var text string
	var posted, listed time.Duration
	c.poll("a comment is accepted after NATS returned", recoverTimeout, func() (bool, string) {
		text = fmt.Sprintf("failover probe after nats %d", time.Now().UnixNano())
		a := g.call(http.MethodPost, "/douyin/comment/action/", url.Values{"token": {w.probe.token}, "video_id": {id(vid)},
			"action_type": {"1"}, "comment_text": {text}})
		posted = time.Since(restartAt)
		return a.ok(), a.String()
	})
	c.poll("the comment published after NATS returned is listed", settleTimeout, func() (bool, string) {
		a := g.call(http.MethodGet, "/douyin/comment/list/", url.Values{"video_id": {id(vid)}})
		listed = time.Since(restartAt)
		for _, cm := range list(a.body, "comment_list") {
			if str(cm, "content") == text {
				return true, ""
			}
		}
		return false, a.String()
	})
	// The search index's consumers (one per comment-admin replica) are back
	// too: the comment is found by every search, whichever replica answers.
	var searched time.Duration
	hits := 0
	c.poll("the comment published after NATS returned is searchable on every comment-admin replica", settleTimeout, func() (bool, string) {
		a := g.admin(http.MethodGet, "/admin/api/comments", url.Values{"user_id": {id(w.probe.id)}, "video_id": {id(vid)}, "limit": {"100"}}, nil, w.adminToken)
		searched = time.Since(restartAt)
		found := false
		for _, it := range list(a.body, "items") {
			found = found || str(it, "content") == text
		}
		if !found {
			hits = 0
			return false, a.String()
		}
		hits++
		return hits == 2*replicas, ""
	})
	_, recovered := l.rec.waitQuiet(restartAt, settleTimeout)
	end := time.Now()
	rep.scenario("nats down", killAt, end)

	f := summarize(l.rec.between(killAt, end), killAt, end)
	outage := l.rec.between(killAt, restartAt)
	isComment := func(s sample) bool { return s.op == "comment" || s.op == "reply" }
	comments := filter(outage, isComment)
	others := summarize(filter(outage, func(s sample) bool { return !isComment(s) }), killAt, restartAt)
	reads := summarize(filter(outage, func(s sample) bool { return s.read }), killAt, restartAt)
	var lat []time.Duration
	failed, unclear := 0, 0
	for _, s := range comments {
		lat = append(lat, s.latency)
		if s.outcome != succeeded {
			failed++
			if s.outcome != refused || s.code == 0 || s.code == codeInternal || s.msg == "" {
				unclear++
			}
		}
	}
	slices.Sort(lat)
	rep.add("nats down %v: %d requests, %d errors, %d 5xx; comment publishes during the outage: %d, %d failed, latency median %s max %s; other requests during the outage: %d/%d failed, reads %d/%d failed; a new comment accepted %s, listed %s and searchable %s after restart; %s",
		natsDown, f.requests, f.errors, f.fivexx, len(comments), failed, pct(lat, 50), pct(lat, 100),
		others.errors, others.requests, reads.errors, reads.requests, secs(posted), secs(listed), secs(searched), errorsEnd(f, killAt, restartAt))
	rep.detail("errors by op: %s%s", f.errorsByOp(), f.topMessages(6))

	if f.fivexx > 0 {
		t.Errorf("NATS down: %d answers were HTTP 5xx", f.fivexx)
	}
	if unclear > 0 {
		t.Errorf("NATS down: %d comment publishes failed without a clear answer (a status_code other than the generic internal error, and a message): %s", unclear, summarize(comments, killAt, restartAt).topMessages(6))
	}
	if len(lat) > 0 && lat[len(lat)-1] > natsWriteBound {
		t.Errorf("NATS down: a comment publish took %v to answer; writes that need NATS must fail fast (bound %v)", lat[len(lat)-1], natsWriteBound)
	}
	if reads.errors > 0 {
		t.Errorf("NATS down: %d of %d reads failed: %s%s", reads.errors, reads.requests, reads.errorsByOp(), reads.topMessages(6))
	}
	if !recovered {
		t.Errorf("errors did not stop within %v of NATS's restart: %s%s", settleTimeout, f.errorsByOp(), f.topMessages(6))
	}
}

// userRoleOutage stops every replica of the user role: the gateway must degrade
// (video, comment and feed lists still answer, authors it has not shown reduced
// to their ids; the user route answers a clear error for a user it has not
// shown, not a 5xx) and recover when the role returns.
func userRoleOutage(t *testing.T, c *cluster, l *load, g *gateways, w *world, rep *report) {
	waitSteady(t, l, "stopping the user role")
	users := c.procs["user"]
	// By now every video has comments, so the comment list has authors to show.
	vid := w.videos[0]
	// Gateways keep the profiles they have shown (they never change), so a user
	// they have shown still has a page while the role is down; one registered
	// now, and never shown, has none.
	unseenName := fmt.Sprintf("unseen%d", time.Now().UnixNano()%1_000_000_000)
	reg := g.call(http.MethodPost, "/douyin/user/register/", url.Values{"username": {unseenName}, "password": {"unseen-password"}})
	if !reg.ok() {
		t.Fatalf("register a user no gateway has shown: %s", reg)
	}
	unseen := num(reg.body, "user_id")
	killAt := time.Now()
	var wg sync.WaitGroup
	for _, p := range users {
		wg.Add(1)
		go func() { defer wg.Done(); p.kill() }()
	}
	wg.Wait()
	restarted := false
	restart := func() time.Time {
		restarted = true
		at := time.Now()
		if err := c.startAndWait(users...); err != nil {
			t.Fatal(err)
		}
		return at
	}
	defer func() {
		if !restarted {
			restart()
		}
	}()

	probes, violations := 0, 0
	var worstLatency time.Duration
	var lastProblem string
	probe := func() []string {
		probes++
		var problems []string
		check := func(what string, a answer, items []map[string]any, authorKey string) {
			worstLatency = max(worstLatency, a.latency)
			if !a.ok() {
				problems = append(problems, fmt.Sprintf("%s: %s", what, a))
				return
			}
			if len(items) == 0 {
				problems = append(problems, what+": empty list")
			}
			for _, it := range items {
				if num(obj(it, authorKey), "id") == 0 {
					problems = append(problems, fmt.Sprintf("%s: an item without its %s id: %v", what, authorKey, it))
					break
				}
			}
		}
		a := g.call(http.MethodGet, "/douyin/feed/", nil)
		check("feed", a, list(a.body, "video_list"), "author")
		a = g.call(http.MethodGet, "/douyin/publish/list/", url.Values{"user_id": {id(vid.author)}, "token": {w.probe.token}})
		check("publish list", a, list(a.body, "video_list"), "author")
		a = g.call(http.MethodGet, "/douyin/comment/list/", url.Values{"video_id": {id(vid.id)}})
		check("comment list", a, list(a.body, "comment_list"), "user")
		a = g.call(http.MethodGet, "/douyin/user/", url.Values{"user_id": {id(unseen)}, "token": {w.probe.token}})
		worstLatency = max(worstLatency, a.latency)
		if a.outcome != refused || a.http != http.StatusOK || a.code == 0 {
			problems = append(problems, "user info must answer a non-zero status_code with HTTP 200 while the user role is down: "+a.String())
		}
		return problems
	}

	// The gateway may take a moment (a timeout, its breaker opening) before it
	// degrades; from then on every probe must see the degraded answers.
	var degradedAfter time.Duration
	degraded := false
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		p := probe()
		if len(p) == 0 {
			degraded, degradedAfter = true, time.Since(killAt)
			break
		}
		lastProblem = strings.Join(p, "\n  ")
		time.Sleep(100 * time.Millisecond) // polling the gateway
	}
	if !degraded {
		t.Errorf("with the user role down, the gateway did not degrade within 20 s; last probe:\n  %s", lastProblem)
	} else {
		until := time.Now().Add(userDownObserve)
		for time.Now().Before(until) {
			if p := probe(); len(p) > 0 {
				violations++
				lastProblem = strings.Join(p, "\n  ")
			}
			time.Sleep(100 * time.Millisecond) // spacing the probes
		}
		if violations > 0 {
			t.Errorf("with the user role down, %d of the probes after the first degraded answer did not degrade; last:\n  %s", violations, lastProblem)
		}
	}
	restartAt := restart()

	// Full authors (with names) come back.
	var fullAfter time.Duration
	c.poll("authors have names again after the user role returned", recoverTimeout, func() (bool, string) {
		a := g.call(http.MethodGet, "/douyin/feed/", nil)
		fullAfter = time.Since(restartAt)
		vs := list(a.body, "video_list")
		if !a.ok() || len(vs) == 0 {
			return false, a.String()
		}
		for _, v := range vs {
			if str(obj(v, "author"), "name") == "" {
				return false, a.String()
			}
		}
		return true, ""
	})
	_, recovered := l.rec.waitQuiet(restartAt, recoverTimeout)
	end := time.Now()
	rep.scenario("user role down", killAt, end)
	f := summarize(l.rec.between(killAt, end), killAt, end)
	outage := summarize(l.rec.between(killAt, restartAt), killAt, restartAt)
	state := "never degraded"
	if degraded {
		state = fmt.Sprintf("degraded answers from %s after the kill", secs(degradedAfter))
	}
	rep.add("user role down (both replicas, %v): %s; %d probes, %d violations, slowest probe %s; full authors back %s after restart; load during the outage: %d requests, %d errors, %d 5xx; %s",
		restartAt.Sub(killAt).Round(100*time.Millisecond), state, probes, violations, secs(worstLatency), secs(fullAfter),
		outage.requests, outage.errors, outage.fivexx, errorsEnd(f, killAt, restartAt))
	rep.detail("errors by op: %s%s", f.errorsByOp(), f.topMessages(6))
	if f.fivexx > 0 {
		t.Errorf("user role down: %d answers were HTTP 5xx", f.fivexx)
	}
	if !recovered {
		t.Errorf("errors did not stop within %v of the user role's restart: %s%s", recoverTimeout, f.errorsByOp(), f.topMessages(6))
	}
}

// verifyWrites waits until every acknowledged write is present, every
// acknowledged removal absent and every count equal to its facts.
func verifyWrites(t *testing.T, g *gateways, w *world, l *load, rep *report) {
	began := time.Now()
	deadline := began.Add(settleTimeout)
	var problems []string
	var f *facts
	var err error
	passes := 0
	for {
		passes++
		f, err = collect(g, w, l.vus)
		if err == nil {
			if problems = check(f, w, l.vus); len(problems) == 0 {
				break
			}
		}
		if time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Second) // polling the cluster for its events to settle
	}
	var likes, follows, comments, floorless, deletes, messages int
	for _, v := range l.vus {
		for _, s := range v.likes {
			if s != unknown {
				likes++
			}
		}
		for _, s := range v.follows {
			if s != unknown {
				follows++
			}
		}
		for _, c := range v.comments {
			comments++
			if c.floor == 0 {
				floorless++
			}
			if c.state == off {
				deletes++
			}
		}
		messages += len(v.messages)
	}
	var anyway string
	if f != nil {
		ac, am := appliedAnyway(f, l.vus)
		anyway = fmt.Sprintf("; writes answered as failed but applied anyway: %d comments (%s), %d messages (%s)",
			len(ac), rep.during(ac), len(am), rep.during(am))
	}
	rep.add("verification: %d likes/unlikes and %d follows/unfollows in a known final state, %d comments acknowledged (%d before their writer applied them, %d deleted since), %d messages; settled after %s (%d passes)%s",
		likes, follows, comments, floorless, deletes, messages, secs(time.Since(began)), passes, anyway)
	if err != nil {
		t.Fatalf("could not read the facts within %v: %v", settleTimeout, err)
	}
	if len(problems) > 0 {
		if len(problems) > 40 {
			problems = append(problems[:40], fmt.Sprintf("... and %d more", len(problems)-40))
		}
		t.Errorf("after %v, %d disagreements between acknowledged writes, facts and counts:\n%s", settleTimeout, len(problems), strings.Join(problems, "\n"))
	}
}

func filter(samples []sample, keep func(sample) bool) []sample {
	var out []sample
	for _, s := range samples {
		if keep(s) {
			out = append(out, s)
		}
	}
	return out
}

func secs(d time.Duration) string { return fmt.Sprintf("%.1fs", d.Seconds()) }

// pct returns the p-th percentile of sorted durations.
func pct(sorted []time.Duration, p int) string {
	if len(sorted) == 0 {
		return "-"
	}
	i := (len(sorted) - 1) * p / 100
	return secs(sorted[i])
}

func opsMix() string {
	var parts []string
	for _, o := range ops {
		parts = append(parts, fmt.Sprintf("%s %d", o.name, o.weight))
	}
	return strings.Join(parts, ", ")
}

// report collects the figures of every scenario for one summary at the end.
type report struct {
	mu        sync.Mutex
	lines     []string
	scenarios []period
}

// period is when a scenario ran, from taking a piece away until errors stopped.
type period struct {
	name     string
	from, to time.Time
}

func (r *report) scenario(name string, from, to time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.scenarios = append(r.scenarios, period{name, from, to})
}

// during says in which scenarios the given moments fall: "nats down: 12, kill gateway-1: 1".
func (r *report) during(moments []time.Time) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	counts := map[string]int{}
	var names []string
	for _, at := range moments {
		name := "outside the scenarios"
		for _, p := range r.scenarios {
			if !at.Before(p.from) && at.Before(p.to) {
				name = p.name
			}
		}
		if counts[name] == 0 {
			names = append(names, name)
		}
		counts[name]++
	}
	if len(names) == 0 {
		return "none"
	}
	slices.Sort(names)
	var parts []string
	for _, n := range names {
		parts = append(parts, fmt.Sprintf("%s: %d", n, counts[n]))
	}
	return strings.Join(parts, ", ")
}

func (r *report) add(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lines = append(r.lines, "- "+fmt.Sprintf(format, args...))
}

func (r *report) detail(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lines = append(r.lines, "    "+fmt.Sprintf(format, args...))
}

func (r *report) print(t *testing.T) {
	r.mu.Lock()
	defer r.mu.Unlock()
	t.Logf("failover summary:\n%s", strings.Join(r.lines, "\n"))
}

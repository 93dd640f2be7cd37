package app

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mdouyin/mdouyin/internal/config"
	"github.com/mdouyin/mdouyin/internal/platform/db"
	"github.com/mdouyin/mdouyin/internal/platform/discovery/etcdtest"
	"github.com/mdouyin/mdouyin/internal/platform/testenv"
	"github.com/mdouyin/mdouyin/kitex_gen/base"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// process is one app.Run under test.
type process struct {
	http string // base URL
	stop func() error
}

func listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

// start runs role ("" = all) with cfg until the test ends.
func start(t *testing.T, cfg config.Config, role string, rpcLn net.Listener) *process {
	t.Helper()
	httpLn := listen(t)
	cfg.HTTPAddr = httpLn.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Options{Config: cfg, Role: role, Log: quiet, HTTPListener: httpLn, RPCListener: rpcLn, OnReady: func() { close(ready) }})
	}()
	select {
	case <-ready:
	case err := <-done:
		cancel()
		t.Fatalf("role %q did not start: %v", role, err)
	}
	var once sync.Once
	var stopErr error
	p := &process{http: "http://" + httpLn.Addr().String(), stop: func() error {
		once.Do(func() { cancel(); stopErr = <-done })
		return stopErr
	}}
	t.Cleanup(func() {
		if err := p.stop(); err != nil {
			t.Errorf("role %q stopped with %v", role, err)
		}
	})
	return p
}

func post(t *testing.T, base, path string, params url.Values) map[string]any {
	t.Helper()
	resp, err := http.Post(base+path+"?"+params.Encode(), "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	return body
}

func testConfig(t *testing.T) config.Config {
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.RateLimit.Rules = "off"
	cfg.Password.MemoryKiB = 8192
	cfg.HTTP.ShutdownTimeout = 10 * time.Second
	return cfg
}

// TestClusterPlacement runs the user role and the gateway as separate roles, joined
// only by Kitex over loopback, and drives the account routes through the gateway.
func TestClusterPlacement(t *testing.T) {
	cfg := testConfig(t)
	cfg.JWT.Secret = strings.Repeat("cluster-secret!", 3)
	cfg.Events = config.Events{Driver: "nats", NATSURL: testenv.NATSURL(t)}

	userRPC := listen(t)
	userCfg := cfg
	userCfg.Node = 1
	user := start(t, userCfg, "user", userRPC)

	// Every other service role runs too, each in its own process, started after
	// the roles it calls and told where they are, so the gateway has real peers
	// for all of them.
	var peers []string
	peers = append(peers, "user="+userRPC.Addr().String())
	for i, role := range []string{"relation", "video", "favorite", "message", "comment", "comment-admin"} {
		ln := listen(t)
		c := cfg
		c.Node = 2 + i
		c.DataDir = t.TempDir()
		c.RPC.Peers = append([]string(nil), peers...)
		start(t, c, role, ln)
		peers = append(peers, role+"="+ln.Addr().String())
	}
	gwCfg := cfg
	gwCfg.Node = 10
	gwCfg.DataDir = t.TempDir()
	gwCfg.RPC.Peers = peers
	gw := start(t, gwCfg, "gateway", nil)

	reg := post(t, gw.http, "/douyin/user/register/", url.Values{"username": {"cluster-user"}, "password": {"secret-1"}})
	if reg["status_code"].(float64) != 0 {
		t.Fatalf("register through the gateway: %v", reg)
	}
	// A role told nothing of the roles it calls refuses to start, naming them.
	c := cfg
	c.DataDir = t.TempDir()
	err := Run(context.Background(), Options{Config: c, Role: "favorite", Log: quiet, HTTPListener: listen(t), RPCListener: listen(t)})
	if err == nil || !strings.Contains(err.Error(), "video=host:port") {
		t.Fatalf("favorite role without peers: %v", err)
	}

	dup := post(t, gw.http, "/douyin/user/register/", url.Values{"username": {"CLUSTER-user"}, "password": {"secret-1"}})
	if dup["status_code"].(float64) == 0 || dup["status_msg"] == "" {
		t.Fatalf("a business error must cross RPC with its code and message: %v", dup)
	}
	resp, err := http.Get(gw.http + "/douyin/user/?token=" + url.QueryEscape(reg["token"].(string)))
	if err != nil {
		t.Fatal(err)
	}
	var info map[string]any
	json.NewDecoder(resp.Body).Decode(&info)
	resp.Body.Close()
	if info["status_code"].(float64) != 0 || info["user"].(map[string]any)["name"] != "cluster-user" {
		t.Fatalf("user info through the gateway: %v", info)
	}

	// The comment role answers through the gateway and asks the video role in
	// turn: a list of an unknown video crosses both RPC hops with its code.
	resp, err = http.Get(gw.http + "/douyin/comment/list/?video_id=123456789")
	if err != nil {
		t.Fatal(err)
	}
	var list map[string]any
	json.NewDecoder(resp.Body).Decode(&list)
	resp.Body.Close()
	if list["status_code"] != float64(base.ErrCode_CommentVideoNotFound) {
		t.Fatalf("comment list through the gateway: %v", list)
	}

	// The user process exports its Argon2id bound for operators.
	if r, err := http.Get(user.http + "/metrics"); err != nil {
		t.Fatal(err)
	} else {
		text, _ := io.ReadAll(r.Body)
		r.Body.Close()
		if !strings.Contains(string(text), "mdouyin_password_hashes_in_flight") {
			t.Error("user role /metrics lacks mdouyin_password_hashes_in_flight")
		}
	}

	// The service process serves the operator endpoints but not the API.
	for path, want := range map[string]int{"/healthz": 200, "/readyz": 200, "/metrics": 200, "/douyin/user/": 404} {
		r, err := http.Get(user.http + path)
		if err != nil {
			t.Fatal(err)
		}
		r.Body.Close()
		if r.StatusCode != want {
			t.Errorf("user role %s: HTTP %d, want %d", path, r.StatusCode, want)
		}
	}

	// With the user role gone, the gateway answers a clear error, not a 5xx.
	if err := user.stop(); err != nil {
		t.Fatal(err)
	}
	down := post(t, gw.http, "/douyin/user/login/", url.Values{"username": {"cluster-user"}, "password": {"secret-1"}})
	if down["status_code"].(float64) != float64(base.ErrCode_Unavailable) || strings.Contains(down["status_msg"].(string), "127.0.0.1") {
		t.Fatalf("login with the user role down: %v", down)
	}
}

// TestShutdownDrainsRequestsInFlight cancels the process while logins are queued
// behind the Argon2 bound and checks every one of them still gets its answer.
func TestShutdownDrainsRequestsInFlight(t *testing.T) {
	cfg := testConfig(t)
	cfg.Password.MaxInFlight = 1
	p := start(t, cfg, "", nil)
	if r := post(t, p.http, "/douyin/user/register/", url.Values{"username": {"drain"}, "password": {"secret-1"}}); r["status_code"].(float64) != 0 {
		t.Fatalf("register: %v", r)
	}
	const n = 16
	results := make(chan float64, n)
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	var sent sync.WaitGroup
	for range n {
		sent.Add(1)
		go func() {
			req, _ := http.NewRequest(http.MethodPost, p.http+"/douyin/user/login/?username=drain&password=secret-1", nil)
			sent.Done()
			resp, err := client.Do(req)
			if err != nil {
				results <- -1
				return
			}
			defer resp.Body.Close()
			var body map[string]any
			if json.NewDecoder(resp.Body).Decode(&body) != nil {
				results <- -2
				return
			}
			results <- body["status_code"].(float64)
		}()
	}
	sent.Wait()
	first := <-results // at least one request is being served before the stop
	t0 := time.Now()
	stopped := make(chan error, 1)
	go func() { stopped <- p.stop() }()
	codes := []float64{first}
	for range n - 1 {
		codes = append(codes, <-results)
	}
	t.Logf("answers in %v: %v", time.Since(t0), codes)
	if err := <-stopped; err != nil {
		t.Fatal(err)
	}
	t.Logf("stopped in %v", time.Since(t0))
	failed := 0
	for _, c := range codes {
		if c != 0 {
			failed++
		}
	}
	// Requests that reached the server before the stop finish; a request that
	// arrives after the listener closed is refused at connect (-1), never cut off
	// half-way (-2) or answered with an error.
	for _, c := range codes {
		if c != 0 && c != -1 {
			t.Fatalf("a request was cut off or failed during shutdown: codes %v", codes)
		}
	}
	if failed == n {
		t.Fatal("no request was served")
	}
}

// TestRateLimits checks the per-address limit on register and the per-account
// limit on login, and that the answers say so.
func TestRateLimits(t *testing.T) {
	cfg := testConfig(t)
	cfg.RateLimit.Rules = "register=1/h:3,login=1000/s,account=1/h:2,comment=1/h:2"
	p := start(t, cfg, "", nil)
	codes := func(path string, params func(i int) url.Values, n int) []float64 {
		var out []float64
		for i := range n {
			out = append(out, post(t, p.http, path, params(i))["status_code"].(float64))
		}
		return out
	}
	reg := codes("/douyin/user/register/", func(i int) url.Values {
		return url.Values{"username": {"limited" + strconv.Itoa(i)}, "password": {"secret-1"}}
	}, 5)
	want := []float64{0, 0, 0, float64(base.ErrCode_RateLimited), float64(base.ErrCode_RateLimited)}
	if fmt.Sprint(reg) != fmt.Sprint(want) {
		t.Fatalf("register codes %v, want %v", reg, want)
	}
	// Two tries per account, whatever the password and the letter case.
	login := codes("/douyin/user/login/", func(i int) url.Values {
		return url.Values{"username": {[]string{"limited0", "LIMITED0", "limited0"}[i]}, "password": {"wrong-pw"}}
	}, 3)
	if login[0] != float64(base.ErrCode_UserBadCredentials) || login[2] != float64(base.ErrCode_RateLimited) {
		t.Fatalf("login codes %v", login)
	}
	// Another account is not affected.
	if c := post(t, p.http, "/douyin/user/login/", url.Values{"username": {"limited1"}, "password": {"secret-1"}})["status_code"]; c.(float64) != 0 {
		t.Fatalf("other account limited too: %v", c)
	}
	msg := post(t, p.http, "/douyin/user/login/", url.Values{"username": {"limited0"}, "password": {"secret-1"}})["status_msg"].(string)
	if !strings.Contains(msg, "too many") {
		t.Fatalf("limited answer says %q", msg)
	}
	// Publishing comments is limited per account (comment=1/h:2): the third
	// try is refused before it reaches the comment role, whatever it says.
	token := post(t, p.http, "/douyin/user/login/", url.Values{"username": {"limited2"}, "password": {"secret-1"}})["token"].(string)
	comment := codes("/douyin/comment/action/", func(i int) url.Values {
		return url.Values{"token": {token}, "video_id": {"123456789"}, "action_type": {"1"}, "comment_text": {"hi " + strconv.Itoa(i)}}
	}, 3)
	want = []float64{float64(base.ErrCode_CommentVideoNotFound), float64(base.ErrCode_CommentVideoNotFound), float64(base.ErrCode_RateLimited)}
	if fmt.Sprint(comment) != fmt.Sprint(want) {
		t.Fatalf("comment codes %v, want %v", comment, want)
	}
}

// TestForwardedForOnlyFromTrustedProxies checks the client address used for limits:
// behind a trusted proxy each forwarded client has its own budget; from anyone
// else the header is ignored.
func TestForwardedForOnlyFromTrustedProxies(t *testing.T) {
	for _, trusted := range []bool{true, false} {
		cfg := testConfig(t)
		cfg.RateLimit.Rules = "register=1/h:1"
		if trusted {
			cfg.HTTP.TrustedProxies = []string{"127.0.0.1/32"}
		}
		p := start(t, cfg, "", nil)
		codes := []float64{}
		for i, client := range []string{"203.0.113.1", "203.0.113.2"} {
			req, _ := http.NewRequest(http.MethodPost, p.http+"/douyin/user/register/?username=xff"+strconv.Itoa(i)+"&password=secret-1", nil)
			req.Header.Set("X-Forwarded-For", client)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var body map[string]any
			json.NewDecoder(resp.Body).Decode(&body)
			resp.Body.Close()
			codes = append(codes, body["status_code"].(float64))
		}
		want := []float64{0, float64(base.ErrCode_RateLimited)}
		if trusted {
			want = []float64{0, 0}
		}
		if fmt.Sprint(codes) != fmt.Sprint(want) {
			t.Errorf("trusted=%v: codes %v, want %v", trusted, codes, want)
		}
	}
}

func TestUnknownRateClassRefused(t *testing.T) {
	cfg := testConfig(t)
	cfg.RateLimit.Rules = "logn=1/s"
	err := Run(context.Background(), Options{Config: cfg, Log: quiet, HTTPListener: listen(t)})
	if err == nil || !strings.Contains(err.Error(), `"logn"`) {
		t.Fatalf("want an error naming the unknown class, got %v", err)
	}
}

// TestClusterOverEtcd runs two replicas of the user role and a gateway that find
// each other only through a real etcd: calls spread over the replicas, keep
// working when one stops, and turn into a clear Unavailable answer when both are
// gone.
func TestClusterOverEtcd(t *testing.T) {
	etcd := etcdtest.Start(t)
	cfg := testConfig(t)
	cfg.JWT.Secret = strings.Repeat("etcd-cluster-secret!", 2)
	cfg.Events = config.Events{Driver: "nats", NATSURL: testenv.NATSURL(t)}
	cfg.RPC.Etcd = etcd.Endpoints()

	// Both replicas share one database, as replicas of a role do.
	name := "mdouyin_etcd_" + strconv.FormatInt(time.Now().UnixNano()%1e9, 10)
	cfg.Database = config.Database{Driver: "mysql", DSN: testenv.MySQLDSN(t) + name}
	t.Cleanup(func() {
		d, err := db.Open(context.Background(), db.Options{Driver: db.MySQL, DSN: testenv.MySQLDSN(t) + name})
		if err == nil {
			d.ExecContext(context.Background(), "DROP DATABASE "+name)
			d.Close()
		}
	})
	var replicas []*process
	for range 2 {
		c := cfg
		c.DataDir = t.TempDir()
		replicas = append(replicas, start(t, c, "user", listen(t)))
	}
	gwCfg := cfg
	gwCfg.DataDir = t.TempDir()
	gw := start(t, gwCfg, "gateway", nil)

	login := func() map[string]any {
		return post(t, gw.http, "/douyin/user/login/", url.Values{"username": {"etcd-user"}, "password": {"secret-1"}})
	}
	// The replicas register as they start; the gateway finds them within a
	// refresh interval.
	deadline := time.Now().Add(20 * time.Second)
	for {
		reg := post(t, gw.http, "/douyin/user/register/", url.Values{"username": {"etcd-user"}, "password": {"secret-1"}})
		if reg["status_code"].(float64) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("register through etcd-discovered replicas: %v", reg)
		}
		time.Sleep(50 * time.Millisecond)
	}
	for i := range 6 {
		if r := login(); r["status_code"].(float64) != 0 {
			t.Fatalf("login %d: %v", i, r)
		}
	}
	// One replica stops (and deregisters): every call still succeeds.
	if err := replicas[0].stop(); err != nil {
		t.Fatal(err)
	}
	for i := range 6 {
		if r := login(); r["status_code"].(float64) != 0 {
			t.Fatalf("login %d with one replica left: %v", i, r)
		}
	}
	// With none left the gateway answers Unavailable, not a 5xx.
	if err := replicas[1].stop(); err != nil {
		t.Fatal(err)
	}
	deadline = time.Now().Add(20 * time.Second)
	for {
		r := login()
		if r["status_code"].(float64) == float64(base.ErrCode_Unavailable) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("login with no replica: %v", r)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

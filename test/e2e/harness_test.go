// Package e2e drives a whole mdouyin server over HTTP only, the way the app does.
//
// By default TestMain starts every role in this process on a free loopback port
// with a fresh data directory, on the embedded stores (SQLite, in-process caches,
// an embedded NATS server). With MDOUYIN_E2E_STORES=external that server runs on
// the real ones instead: a fresh MySQL/MariaDB database made from
// MDOUYIN_TEST_MYSQL_DSN (dropped afterwards), Redis at MDOUYIN_TEST_REDIS_ADDR and
// NATS at MDOUYIN_TEST_NATS_URL; a missing variable fails the run. With
// MDOUYIN_E2E_URL set it targets that server instead (a cluster, say);
// MDOUYIN_JWT_SECRET must then be the server's secret, for the scenarios that forge
// tokens.
package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mdouyin/mdouyin/internal/app"
	"github.com/mdouyin/mdouyin/internal/app/apptest"
	"github.com/mdouyin/mdouyin/internal/config"
	"github.com/mdouyin/mdouyin/internal/platform/db"
	"github.com/mdouyin/mdouyin/internal/platform/testenv"
)

var (
	baseURL   string
	jwtSecret string
	client    = &http.Client{Timeout: 30 * time.Second}
)

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) (code int) {
	if u := os.Getenv("MDOUYIN_E2E_URL"); u != "" {
		baseURL = strings.TrimRight(u, "/")
		jwtSecret = os.Getenv("MDOUYIN_JWT_SECRET")
		return m.Run()
	}
	dir, err := os.MkdirTemp("", "mdouyin-e2e-*")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)

	jwtSecret = strings.Repeat("e2e-secret-", 4)
	env := map[string]string{
		"MDOUYIN_DATA_DIR":               dir,
		"MDOUYIN_JWT_SECRET":             jwtSecret,
		"MDOUYIN_RATE_LIMITS":            "off",
		"MDOUYIN_PASSWORD_MEMORY_KIB":    "8192",
		"MDOUYIN_PASSWORD_MAX_IN_FLIGHT": "4",
		"MDOUYIN_SENSITIVE_WORDS":        heldWord,
		"MDOUYIN_ADMIN_PASSWORD":         e2eAdminPassword,
	}
	switch stores := os.Getenv(storesVar); stores {
	case "", "embedded":
	case "external":
		drop, err := externalStores(env)
		if err != nil {
			fmt.Fprintln(os.Stderr, "e2e:", err)
			return 1
		}
		defer func() {
			if err := drop(); err != nil {
				fmt.Fprintln(os.Stderr, "e2e:", err)
				code = 1
			}
		}()
	default:
		fmt.Fprintf(os.Stderr, "e2e: %s=%q: want embedded or external\n", storesVar, stores)
		return 1
	}
	var stop func() error
	baseURL, stop, err = apptest.Serve(env)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := waitHealthy(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		stop()
		return 1
	}
	code = m.Run()
	// Hertz waits for keep-alive connections during a graceful shutdown; close ours.
	client.CloseIdleConnections()
	if err := stop(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := checkCounts(env); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	return code
}

// checkCounts runs `mdouyin check` over the stopped server's databases: after
// every scenario, each stored count must equal the facts it counts.
func checkCounts(env map[string]string) error {
	cfg, err := config.Load("", func(k string) string { return env[k] })
	if err != nil {
		return err
	}
	var diffs []string
	res, err := app.Check(context.Background(), app.Options{Config: cfg}, false, func(d db.CounterDiff) {
		diffs = append(diffs, fmt.Sprintf("%s key=%d stored=%d actual=%d", d.Counter, d.Key, d.Stored, d.Actual))
	}, nil, false)
	if err != nil {
		return fmt.Errorf("check: %w", err)
	}
	if len(diffs) > 0 {
		return fmt.Errorf("after the scenarios %d stored counts differ from their facts:\n  %s", len(diffs), strings.Join(diffs, "\n  "))
	}
	fmt.Fprintf(os.Stderr, "e2e: check: %d counts over %d keys equal their facts\n", res.Counters, res.Keys)
	return nil
}

// storesVar selects the stores of the server started in this process.
const storesVar = "MDOUYIN_E2E_STORES"

// e2eRedisDB is the Redis database the external mode uses. The server's cache
// key prefix is fixed ("mdouyin:") and not configurable, so a database of its own
// keeps this suite's keys apart from other test packages' (the cache tests use
// database 0 under prefixes of their own). Runs do not clean it: every key the
// server writes is named by ids, which differ from run to run, and expires.
const e2eRedisDB = "13"

// externalStores points env at MySQL, Redis and NATS from the MDOUYIN_TEST_*
// variables, all of which must be set: a run that asked for the real stores must
// not pass without them. The MySQL database is new (the server creates it on
// first use); drop removes it once the server has stopped.
//
// The NATS streams and durable consumers have fixed names (VIDEO, RELATION, ...,
// video-feed-fanout, ...), so they are shared with every other server on that
// NATS: the suite must not run beside another whole server using the same NATS
// (internal/app's cluster test is one), or that server's consumers would take
// some of this one's events. `make unit` runs it alone, after the other packages.
func externalStores(env map[string]string) (drop func() error, err error) {
	var missing []string
	get := func(name string) string {
		v := os.Getenv(name)
		if v == "" {
			missing = append(missing, name)
		}
		return v
	}
	dsn, redis, nats := get(testenv.MySQLVar), get(testenv.RedisVar), get(testenv.NATSVar)
	if len(missing) > 0 {
		return nil, fmt.Errorf("%s=external needs %s", storesVar, strings.Join(missing, ", "))
	}
	if !strings.HasSuffix(dsn, "/") {
		return nil, fmt.Errorf("%s=%q must name no database (end in /): the suite makes its own", testenv.MySQLVar, dsn)
	}
	name := fmt.Sprintf("mdouyin_e2e_%d", time.Now().UnixNano())
	env["MDOUYIN_DB_DRIVER"], env["MDOUYIN_DB_DSN"] = "mysql", dsn+name
	env["MDOUYIN_CACHE_DRIVER"], env["MDOUYIN_REDIS_ADDR"], env["MDOUYIN_REDIS_DB"] = "redis", redis, e2eRedisDB
	env["MDOUYIN_EVENTS_DRIVER"], env["MDOUYIN_NATS_URL"] = "nats", nats
	fmt.Fprintf(os.Stderr, "e2e: external stores: MySQL database %s, Redis %s db %s, NATS %s\n", name, redis, e2eRedisDB, nats)
	return func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		d, err := db.Open(ctx, db.Options{Driver: db.MySQL, DSN: dsn + name})
		if err != nil {
			return fmt.Errorf("drop database %s: %w", name, err)
		}
		defer d.Close()
		if _, err := d.ExecContext(ctx, "DROP DATABASE "+name); err != nil {
			return fmt.Errorf("drop database %s: %w", name, err)
		}
		return nil
	}, nil
}

func waitHealthy() error {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := client.Get(baseURL + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond) // polling a server we just started; not synchronising tests
	}
	return fmt.Errorf("server at %s never became ready", baseURL)
}

// reply is a decoded JSON answer, with its HTTP status.
type reply struct {
	HTTP int
	Body map[string]any
	Raw  string
}

func (r reply) code() int64 {
	f, _ := r.Body["status_code"].(float64)
	return int64(f)
}

func (r reply) msg() string { s, _ := r.Body["status_msg"].(string); return s }

func (r reply) num(key string) int64 { f, _ := r.Body[key].(float64); return int64(f) }

func (r reply) str(key string) string { s, _ := r.Body[key].(string); return s }

// call sends a request with the parameters in the query string, as the app does.
func call(t *testing.T, method, path string, params url.Values) reply {
	t.Helper()
	u := baseURL + path
	if len(params) > 0 {
		u += "?" + params.Encode()
	}
	req, err := http.NewRequest(method, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	return do(t, req)
}

// callForm sends the parameters as a urlencoded body instead.
func callForm(t *testing.T, path string, params url.Values) reply {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, baseURL+path, strings.NewReader(params.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return do(t, req)
}

func do(t *testing.T, req *http.Request) reply {
	t.Helper()
	r, err := send(req)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// send sends req and reads its answer, decoding a JSON body.
func send(req *http.Request) (reply, error) {
	resp, err := client.Do(req)
	if err != nil {
		return reply{}, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return reply{}, err
	}
	r := reply{HTTP: resp.StatusCode, Raw: string(raw)}
	if ct := resp.Header.Get("Content-Type"); strings.HasPrefix(ct, "application/json") {
		if err := json.Unmarshal(raw, &r.Body); err != nil {
			return r, fmt.Errorf("%s %s: invalid JSON %q: %v", req.Method, req.URL.Path, raw, err)
		}
	}
	return r, nil
}

var nameSeq atomic.Int64

// uniqueName returns a username no other scenario uses, so scenarios can run
// against a long-lived server.
func uniqueName(prefix string) string {
	return fmt.Sprintf("%s%d_%d", prefix, time.Now().UnixNano()%1e9, nameSeq.Add(1))
}

// account is a registered user.
type account struct {
	ID    int64
	Token string
	Name  string
}

func register(t *testing.T, name, password string) account {
	t.Helper()
	r := call(t, http.MethodPost, "/douyin/user/register/", url.Values{"username": {name}, "password": {password}})
	if r.code() != 0 {
		t.Fatalf("register %q: %s", name, r.Raw)
	}
	return account{ID: r.num("user_id"), Token: r.str("token"), Name: name}
}

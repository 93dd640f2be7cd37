// Package e2e drives a whole mdouyin server over HTTP only, the way the app does.
//
// By default TestMain starts every role in this process on a free loopback port
// with a fresh data directory. With MDOUYIN_E2E_URL set it targets that server
// instead (a cluster, say); MDOUYIN_JWT_SECRET must then be the server's secret, for
// the scenarios that forge tokens.
package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mdouyin/mdouyin/internal/app"
	"github.com/mdouyin/mdouyin/internal/config"
	"github.com/mdouyin/mdouyin/internal/platform/obs"
)

var (
	baseURL   string
	jwtSecret string
	client    = &http.Client{Timeout: 30 * time.Second}
)

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
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
	}
	cfg, err := config.Load("", func(k string) string { return env[k] })
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	cfg.HTTPAddr = ln.Addr().String()
	baseURL = "http://" + ln.Addr().String()

	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan struct{})
	done := make(chan error, 1)
	logger := obs.NewLogger(os.Stderr, slog.LevelWarn, "text")
	obs.InstallFrameworkLoggers(logger)
	go func() {
		done <- app.Run(ctx, app.Options{Config: cfg, Log: logger, HTTPListener: ln, OnReady: func() { close(ready) }})
	}()
	select {
	case <-ready:
	case err := <-done:
		fmt.Fprintln(os.Stderr, "server did not start:", err)
		cancel()
		return 1
	}
	if err := waitHealthy(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		cancel()
		return 1
	}
	code := m.Run()
	// Hertz waits for keep-alive connections during a graceful shutdown; close ours.
	client.CloseIdleConnections()
	cancel()
	if err := <-done; err != nil {
		fmt.Fprintln(os.Stderr, "server stopped with:", err)
		return 1
	}
	return code
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
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	r := reply{HTTP: resp.StatusCode, Raw: string(raw)}
	if ct := resp.Header.Get("Content-Type"); strings.HasPrefix(ct, "application/json") {
		if err := json.Unmarshal(raw, &r.Body); err != nil {
			t.Fatalf("%s %s: invalid JSON %q: %v", req.Method, req.URL.Path, raw, err)
		}
	}
	return r
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

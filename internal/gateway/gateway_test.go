package gateway

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mdouyin/mdouyin/internal/config"
	"github.com/mdouyin/mdouyin/internal/ratelimit"
	"github.com/mdouyin/mdouyin/internal/token"
	"github.com/mdouyin/mdouyin/kitex_gen/user"
)

// panickingUsers is a user service whose every call panics, standing in for a bug.
type panickingUsers struct{ user.UserService }

func (panickingUsers) Register(context.Context, *user.RegisterRequest) (*user.AuthResponse, error) {
	panic("boom: internal detail that must not leak")
}

func startGateway(t *testing.T, svcs Services) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tokens, err := token.NewManager(token.AudienceApp, token.KeyFromSecret([]byte(strings.Repeat("k", 32))), nil, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	cfg.HTTPAddr = ln.Addr().String()
	g, err := New(Deps{Config: cfg, Services: svcs, Tokens: tokens, Limits: ratelimit.Disabled(),
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Metrics: prometheus.NewRegistry(), Listener: ln})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- g.Run() }()
	t.Cleanup(func() {
		g.Shutdown(context.Background())
		<-done
	})
	return "http://" + ln.Addr().String()
}

func TestPanicBecomesAGenericError(t *testing.T) {
	base := startGateway(t, Services{User: panickingUsers{}})
	var resp *http.Response
	var err error
	for deadline := time.Now().Add(10 * time.Second); ; {
		resp, err = http.Post(base+"/douyin/user/register/?username=a&password=secret-1", "", nil)
		if err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond) // polling a server being started
	}
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var body map[string]any
	if err := json.Unmarshal(raw, &body); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("HTTP %d %q", resp.StatusCode, raw)
	}
	if body["status_code"].(float64) != 1 || strings.Contains(string(raw), "boom") {
		t.Fatalf("panic answered %s", raw)
	}
	// The server survived.
	if r, err := http.Get(base + "/healthz"); err != nil || r.StatusCode != http.StatusOK {
		t.Fatalf("healthz after a panic: %v", err)
	}
}

// TestUnknownRoutesAnswerInTheirAPIsFormat checks that a path the server has no
// route for answers in the format of the API it is under: the operations API's
// {"error"} with an HTTP status, the app's status_code elsewhere.
func TestUnknownRoutesAnswerInTheirAPIsFormat(t *testing.T) {
	base := startGateway(t, Services{})
	for _, tc := range []struct {
		method, path string
		status       int
		admin        bool
	}{
		{"GET", "/admin/api/nope", 404, true},
		{"GET", "/admin/api", 404, true},
		{"POST", "/admin/api/nope", 405, true}, // GET /admin/*file matches the path
		{"PUT", "/admin/api/comments/1/approve", 405, true},
		{"DELETE", "/admin/api/comments", 405, true},
		{"GET", "/douyin/nope/", 404, false},
		{"PUT", "/douyin/feed/", 405, false},
	} {
		req, err := http.NewRequest(tc.method, base+tc.path, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body map[string]any
		err = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		what := tc.method + " " + tc.path
		if err != nil || resp.StatusCode != tc.status {
			t.Errorf("%s: HTTP %d (decode: %v), want %d with JSON", what, resp.StatusCode, err, tc.status)
			continue
		}
		msg, hasError := body["error"].(string)
		_, hasCode := body["status_code"]
		if tc.admin && (!hasError || msg == "" || hasCode) {
			t.Errorf("%s: %v, want the operations API's {\"error\"}", what, body)
		}
		if !tc.admin && (hasError || !hasCode) {
			t.Errorf("%s: %v, want the app's status_code", what, body)
		}
	}
}

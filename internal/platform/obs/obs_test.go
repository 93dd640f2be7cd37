package obs

import (
	"bufio"
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"
)

// logSink is a slog logger whose JSON lines a test can read back as maps. The JSON
// handler serialises its own writes, and the mutex makes reading while the code
// under test may still log safe.
type logSink struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *logSink) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

func newSink(level slog.Level) (*logSink, *slog.Logger) {
	s := &logSink{}
	return s, NewLogger(s, level, "json")
}

// records returns every line logged so far, decoded.
func (s *logSink) records(t *testing.T) []map[string]any {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(s.buf.Bytes()))
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("log line %q is not JSON: %v", sc.Text(), err)
		}
		out = append(out, m)
	}
	return out
}

// only returns the single record logged so far, failing the test if there is not
// exactly one.
func (s *logSink) only(t *testing.T) map[string]any {
	t.Helper()
	recs := s.records(t)
	if len(recs) != 1 {
		t.Fatalf("got %d log records, want 1: %v", len(recs), recs)
	}
	return recs[0]
}

func TestParseLevel(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want slog.Level
	}{
		{"debug", slog.LevelDebug},
		{"INFO", slog.LevelInfo},
		{" warn ", slog.LevelWarn},
		{"warning", slog.LevelWarn},
		{"Error", slog.LevelError},
		{"info+2", slog.LevelInfo + 2},
	} {
		got, err := ParseLevel(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseLevel(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "verbose", "info+x", "3"} {
		if _, err := ParseLevel(bad); err == nil {
			t.Errorf("ParseLevel(%q) succeeded, want an error", bad)
		}
	}
}

func TestNewLoggerFormats(t *testing.T) {
	var text, js bytes.Buffer
	NewLogger(&text, slog.LevelInfo, "text").Info("hello", "k", "v")
	NewLogger(&js, slog.LevelInfo, "JSON").Info("hello", "k", "v")
	NewLogger(&js, slog.LevelInfo, "json").Debug("below the level")

	if got := text.String(); !strings.Contains(got, "msg=hello k=v") {
		t.Errorf("text output = %q, want key=value pairs", got)
	}
	var m map[string]any
	if err := json.Unmarshal(js.Bytes(), &m); err != nil {
		t.Fatalf("json output %q: %v (a Debug line below Info must not be written)", js.String(), err)
	}
	if m["msg"] != "hello" || m["k"] != "v" {
		t.Errorf("json record = %v", m)
	}
}

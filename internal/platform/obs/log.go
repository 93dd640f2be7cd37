// Package obs is the observability plumbing every mdouyin process shares: structured
// logs through log/slog, Prometheus metrics, request ids and access logs for the Hertz
// servers, the bridges that make Hertz and Kitex log through the same slog logger, and
// OpenTelemetry tracing (trace.go).
//
// It holds no state of its own. The globals it touches are the pair of framework
// loggers, which Hertz and Kitex keep at package level (only InstallFrameworkLoggers
// writes them), and OpenTelemetry's tracer provider, propagator and error handler
// (only StartTracing writes them).
package obs

import (
	"fmt"
	"io"
	"log/slog"
	"strings"
)

// NewLogger returns a logger writing to w at or above level. format "json" gives one
// JSON object per line, for log shippers; "text" (and anything else, so a typo in a
// config file still leaves the process with logs) gives slog's key=value lines, for
// people reading a terminal.
func NewLogger(w io.Writer, level slog.Level, format string) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level}
	if strings.EqualFold(format, "json") {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// ParseLevel turns a configured level name into a slog.Level. It accepts slog's own
// names in any case ("debug", "INFO", "warn", "error", with offsets such as "info+2")
// and the common alias "warning", and refuses anything else so that a misspelt level
// is caught at start-up instead of silently logging at the default.
func ParseLevel(s string) (slog.Level, error) {
	name := strings.TrimSpace(s)
	if strings.EqualFold(name, "warning") {
		return slog.LevelWarn, nil
	}
	var l slog.Level
	if err := l.UnmarshalText([]byte(name)); err != nil {
		return 0, fmt.Errorf("log level %q: want debug, info, warn or error", s)
	}
	return l, nil
}

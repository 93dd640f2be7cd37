// Package apptest starts a whole mdouyin server in the test process, on a free
// loopback port, for the suites that drive it over HTTP only (test/e2e,
// test/console).
package apptest

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"

	"github.com/mdouyin/mdouyin/internal/app"
	"github.com/mdouyin/mdouyin/internal/config"
	"github.com/mdouyin/mdouyin/internal/platform/obs"
)

// Serve runs every role in this process with the configuration that env (the
// MDOUYIN_* variables; nothing is read from the real environment) gives, and
// returns its base URL once it serves. stop shuts it down gracefully and
// reports how it ended; the caller closes its idle keep-alive connections first,
// or the graceful shutdown waits for them.
func Serve(env map[string]string) (baseURL string, stop func() error, err error) {
	cfg, err := config.Load("", func(k string) string { return env[k] })
	if err != nil {
		return "", nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	cfg.HTTPAddr = ln.Addr().String()

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
		cancel()
		return "", nil, fmt.Errorf("server did not start: %w", err)
	}
	return "http://" + ln.Addr().String(), func() error {
		cancel()
		if err := <-done; err != nil {
			return fmt.Errorf("server stopped with: %w", err)
		}
		return nil
	}, nil
}

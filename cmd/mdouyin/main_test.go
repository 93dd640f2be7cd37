package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mdouyin/mdouyin/internal/platform/testenv"
)

func TestHelpExplainsBothPlacements(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"-h"}, {"help"}, {"serve", "--help"}} {
		var out bytes.Buffer
		err := run(context.Background(), args, func(string) string { return "" }, &out, &out)
		if err != nil && !errors.Is(err, flag.ErrHelp) {
			t.Fatalf("%v: %v", args, err)
		}
		for _, want := range []string{"one process", "--role", "comment-admin", "MDOUYIN_PEERS"} {
			if !strings.Contains(out.String(), want) {
				t.Errorf("%v: help lacks %q:\n%s", args, want, out.String())
			}
		}
	}
}

func TestBadInvocationsFailClearly(t *testing.T) {
	cases := []struct {
		args []string
		env  map[string]string
		want string
	}{
		{[]string{"frobnicate"}, nil, `unknown command "frobnicate"`},
		{[]string{"serve", "extra"}, nil, "unexpected arguments"},
		{[]string{"serve", "--role=janitor"}, map[string]string{"MDOUYIN_DATA_DIR": t.TempDir()}, "janitor"},
		{nil, map[string]string{"MDOUYIN_NODE": "x"}, "MDOUYIN_NODE"},
		{nil, map[string]string{"MDOUYIN_DB_DRIVER": "oracle", "MDOUYIN_HTTP_ADDR": "nowhere"}, "MDOUYIN_HTTP_ADDR"},
		{[]string{"--config=/nonexistent.yaml"}, nil, "nonexistent.yaml"},
	}
	for _, c := range cases {
		var out bytes.Buffer
		err := run(context.Background(), c.args, func(k string) string { return c.env[k] }, &out, &out)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v %v: error %v, want it to mention %q", c.args, c.env, err, c.want)
		}
	}
}

// TestServeUntilCancelled runs the binary's entry point on a free port and stops
// it the way SIGTERM does.
func TestServeUntilCancelled(t *testing.T) {
	addr := testenv.FreeAddr(t)
	env := map[string]string{"MDOUYIN_HTTP_ADDR": addr, "MDOUYIN_DATA_DIR": t.TempDir(), "MDOUYIN_LOG_FORMAT": "json"}
	ctx, cancel := context.WithCancel(context.Background())
	logs := &syncWriter{}
	done := make(chan error, 1)
	go func() { done <- run(ctx, nil, func(k string) string { return env[k] }, logs, logs) }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/healthz")
		if err == nil {
			resp.Body.Close()
			break
		}
		select {
		case err := <-done:
			t.Fatalf("server exited: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("server never answered /healthz")
		}
		time.Sleep(20 * time.Millisecond) // polling a server being started
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run after cancel: %v", err)
	}
	for _, want := range []string{`"msg":"mdouyin serving"`, `"msg":"mdouyin stopped"`, `"msg":"generated a token secret"`} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("logs lack %s:\n%s", want, logs.String())
		}
	}
}

// syncWriter lets the server's goroutines log into one buffer.
type syncWriter struct {
	mu sync.Mutex
	w  bytes.Buffer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

func (s *syncWriter) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.String()
}

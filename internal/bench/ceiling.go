package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/cloudwego/hertz/pkg/app"
	"github.com/cloudwego/hertz/pkg/app/server"
	"github.com/cloudwego/hertz/pkg/network/standard"
)

// Recording is one answer of the target, byte for byte.
type Recording struct {
	Body        []byte
	ContentType string
}

// RecordFeed fetches the target's guest feed (GET /douyin/feed/) and keeps the
// answer, which must be a success.
func RecordFeed(ctx context.Context, client *http.Client, base string) (Recording, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/douyin/feed/", nil)
	if err != nil {
		return Recording{}, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return Recording{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return Recording{}, err
	}
	if code, found := StatusCode(body); resp.StatusCode != http.StatusOK || !found || code != 0 {
		return Recording{}, fmt.Errorf("recording the guest feed: HTTP %d: %.200s", resp.StatusCode, body)
	}
	return Recording{Body: body, ContentType: resp.Header.Get("Content-Type")}, nil
}

// Ceiling is a bare Hertz server that answers GET /douyin/feed/ with a
// recorded answer: no middleware, no services, no encoding. It is configured
// as the gateway's server is (Go's network stack), so the load that one
// sustains is the most the gateway could sustain on this machine for an answer
// of that size, and every read scenario is reported as a fraction of it.
type Ceiling struct {
	URL string
	h   *server.Hertz
	run chan error
}

// StartCeiling serves rec on a free loopback port, in this process.
func StartCeiling(rec Recording) (*Ceiling, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	h := server.New(
		server.WithListener(ln),
		server.WithTransport(standard.NewTransporter),
		server.WithDisablePrintRoute(true),
		server.WithExitWaitTime(2*time.Second),
	)
	serve := func(_ context.Context, c *app.RequestContext) { c.Data(http.StatusOK, rec.ContentType, rec.Body) }
	h.GET("/douyin/feed/", serve)
	h.GET("/douyin/feed", serve)
	c := &Ceiling{URL: "http://" + ln.Addr().String(), h: h, run: make(chan error, 1)}
	go func() { c.run <- h.Run() }()

	// The listener already queues connections, so this waits for Hertz to
	// serve, and checks it answers the recorded bytes.
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	got, err := RecordFeed(context.Background(), client, c.URL)
	if err == nil && (!bytes.Equal(got.Body, rec.Body) || got.ContentType != rec.ContentType) {
		err = fmt.Errorf("the ceiling server answers other bytes than it was given")
	}
	if err != nil {
		c.Stop()
		return nil, err
	}
	return c, nil
}

// Stop shuts the server down; close the clients' idle connections first, or
// it waits for them.
func (c *Ceiling) Stop() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for !c.h.IsRunning() {
		select {
		case err := <-c.run:
			return err
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Millisecond): // Run has not marked itself running yet
		}
	}
	if err := c.h.Shutdown(ctx); err != nil {
		return err
	}
	return <-c.run
}

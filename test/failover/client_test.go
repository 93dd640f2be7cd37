//go:build failover

package failover

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// outcome classifies one request as the load counts it.
type outcome int

const (
	// succeeded: HTTP 200 and status_code 0 (admin API: 200).
	succeeded outcome = iota
	// refused: an answer that is not a success: a non-zero status_code, or an
	// admin API 4xx or 503. The load sends only valid requests, so every
	// refusal is a failure of the cluster, not of the request.
	refused
	// unanswered: no HTTP answer (connection refused or reset, timeout).
	unanswered
	// serverError: an HTTP 5xx from the app's API (admin API: other than
	// 503). Never acceptable.
	serverError
)

func (o outcome) String() string {
	return [...]string{"ok", "refused", "unanswered", "5xx"}[o]
}

// answer is one request's result.
type answer struct {
	outcome outcome
	http    int
	code    int64
	msg     string
	body    map[string]any
	raw     string
	latency time.Duration
	err     error
	gateway int // which gateway answered (index), -1 when none was tried
}

func (a answer) ok() bool { return a.outcome == succeeded }

func (a answer) String() string {
	if a.err != nil {
		return fmt.Sprintf("%s after %v: %v", a.outcome, a.latency.Round(time.Millisecond), a.err)
	}
	raw := a.raw
	if len(raw) > 300 {
		raw = raw[:300] + "..."
	}
	return fmt.Sprintf("%s (HTTP %d, status_code %d) after %v: %s", a.outcome, a.http, a.code, a.latency.Round(time.Millisecond), raw)
}

// gateways sends requests to the cluster's gateways in turn, as a load balancer
// with health checks would: a gateway that fails to answer at all is taken out
// of the rotation until its /healthz answers again. The request that found it
// dead still counts as failed; nothing is retried.
type gateways struct {
	hc      *http.Client
	members []*member
	next    atomic.Uint64
	ctx     context.Context
	wg      sync.WaitGroup
}

type member struct {
	base string
	down atomic.Bool
}

// requestTimeout bounds one request: far above any bounded wait of the
// cluster, so a hang shows as a timeout rather than stalling the load.
const requestTimeout = 30 * time.Second

func newGateways(ctx context.Context, urls []string) *gateways {
	g := &gateways{
		hc: &http.Client{Timeout: requestTimeout, Transport: &http.Transport{
			MaxIdleConnsPerHost: 64, IdleConnTimeout: 30 * time.Second,
		}},
		ctx: ctx,
	}
	for _, u := range urls {
		g.members = append(g.members, &member{base: u})
	}
	return g
}

// close waits for the health checkers and drops idle connections.
func (g *gateways) close() {
	g.wg.Wait()
	g.hc.CloseIdleConnections()
}

// pick returns the next gateway in the rotation; when all are out, any.
func (g *gateways) pick() int {
	n := uint64(len(g.members))
	start := g.next.Add(1)
	for i := range n {
		idx := int((start + i) % n)
		if !g.members[idx].down.Load() {
			return idx
		}
	}
	return int(start % n)
}

// eject takes a gateway out of the rotation and checks its /healthz until it
// answers, then puts it back.
func (g *gateways) eject(idx int) {
	m := g.members[idx]
	if !m.down.CompareAndSwap(false, true) {
		return
	}
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		hc := &http.Client{Timeout: time.Second}
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-g.ctx.Done():
				m.down.Store(false)
				return
			case <-tick.C:
			}
			if resp, err := hc.Get(m.base + "/healthz"); err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					m.down.Store(false)
					return
				}
			}
		}
	}()
}

// call sends an app API request with its parameters in the query string, as
// the app does.
func (g *gateways) call(method, path string, params url.Values) answer {
	return g.send(-1, method, path, params, nil, "", nil)
}

// callOn sends the request to one gateway, for probes that must see a given one.
func (g *gateways) callOn(idx int, method, path string, params url.Values) answer {
	return g.send(idx, method, path, params, nil, "", nil)
}

// publish uploads a video (multipart, as the app does).
func (g *gateways) publish(token, title string, clip []byte) answer {
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	_ = w.WriteField("token", token)
	_ = w.WriteField("title", title)
	part, _ := w.CreateFormFile("data", "clip.mp4")
	_, _ = part.Write(clip)
	_ = w.Close()
	return g.send(-1, http.MethodPost, "/douyin/publish/action/", nil, body.Bytes(), w.FormDataContentType(), nil)
}

// admin sends an operations API request with the admin token.
func (g *gateways) admin(method, path string, params url.Values, jsonBody any, token string) answer {
	var raw []byte
	if jsonBody != nil {
		raw, _ = json.Marshal(jsonBody)
	}
	h := http.Header{}
	if token != "" {
		h.Set("Authorization", "Bearer "+token)
	}
	return g.send(-1, method, path, params, raw, "application/json", h)
}

func (g *gateways) send(idx int, method, path string, params url.Values, body []byte, contentType string, h http.Header) answer {
	if idx < 0 {
		idx = g.pick()
	}
	u := g.members[idx].base + path
	if len(params) > 0 {
		u += "?" + params.Encode()
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(context.Background(), method, u, rd)
	if err != nil {
		return answer{outcome: unanswered, err: err, gateway: idx}
	}
	if contentType != "" && body != nil {
		req.Header.Set("Content-Type", contentType)
	}
	for k, v := range h {
		req.Header[k] = v
	}
	began := time.Now()
	resp, err := g.hc.Do(req)
	a := answer{gateway: idx}
	if err != nil {
		a.outcome, a.err, a.latency = unanswered, err, time.Since(began)
		g.eject(idx)
		return a
	}
	raw, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	a.latency, a.http, a.raw = time.Since(began), resp.StatusCode, string(raw)
	if err != nil {
		a.outcome, a.err = unanswered, err
		g.eject(idx)
		return a
	}
	isAdmin := strings.HasPrefix(path, "/admin/")
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(raw, &a.body); err != nil {
			a.err = fmt.Errorf("invalid JSON: %w", err)
		}
	}
	a.code, a.msg = num(a.body, "status_code"), str(a.body, "status_msg")
	switch {
	case resp.StatusCode >= 500 && !(isAdmin && resp.StatusCode == http.StatusServiceUnavailable):
		a.outcome = serverError
	case isAdmin && resp.StatusCode == http.StatusOK && a.err == nil:
		a.outcome = succeeded
	case isAdmin:
		a.outcome = refused
	case resp.StatusCode == http.StatusOK && a.body != nil && a.code == 0 && a.err == nil:
		a.outcome = succeeded
	default:
		a.outcome = refused
	}
	return a
}

// JSON helpers over decoded answers.

func num(obj map[string]any, key string) int64 { f, _ := obj[key].(float64); return int64(f) }

func str(obj map[string]any, key string) string { s, _ := obj[key].(string); return s }

func obj(o map[string]any, key string) map[string]any { m, _ := o[key].(map[string]any); return m }

func list(o map[string]any, key string) []map[string]any {
	items, _ := o[key].([]any)
	out := make([]map[string]any, 0, len(items))
	for _, it := range items {
		if m, ok := it.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}

func id(v int64) string { return fmt.Sprint(v) }

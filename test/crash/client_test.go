//go:build crash

package crash

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"sync/atomic"
	"syscall"
	"time"
)

// outcome is what the client learned about one request.
type outcome int

const (
	// acked: HTTP 200 with status_code 0. The write happened.
	acked outcome = iota
	// refused: an answer that is not a success (a non-zero status_code, or
	// another HTTP status). The load sends only valid requests, so a refusal is
	// the server's trouble, and the write may or may not have happened.
	refused
	// unanswered: the request was sent, no answer came (the connection was
	// reset by the kill, say). The write may or may not have happened.
	unanswered
	// notSent: the connection was refused, so the server never saw the
	// request. Nothing happened.
	notSent
	// serverError: an HTTP 5xx. Never acceptable; the write may or may not
	// have happened.
	serverError
)

func (o outcome) String() string {
	return [...]string{"acked", "refused", "unanswered", "not sent", "5xx"}[o]
}

// unknown reports whether the write may or may not have happened.
func (o outcome) unknown() bool { return o == refused || o == unanswered || o == serverError }

// answer is one request's result.
type answer struct {
	outcome outcome
	http    int
	code    int64
	body    map[string]any
	raw     string
	err     error
}

func (a answer) ok() bool { return a.outcome == acked }

func (a answer) String() string {
	if a.err != nil {
		return fmt.Sprintf("%s: %v", a.outcome, a.err)
	}
	raw := a.raw
	if len(raw) > 300 {
		raw = raw[:300] + "..."
	}
	return fmt.Sprintf("%s (HTTP %d, status_code %d): %s", a.outcome, a.http, a.code, raw)
}

// requestTimeout bounds one request, far above anything the server waits for
// itself, so a hang shows as a timeout rather than a stalled test.
const requestTimeout = 30 * time.Second

// api sends the app's requests to the gateways in turn.
type api struct {
	hc   *http.Client
	urls []string
	next atomic.Uint64
}

func newAPI(urls []string) *api {
	return &api{urls: urls, hc: &http.Client{Timeout: requestTimeout, Transport: &http.Transport{
		MaxIdleConnsPerHost: 64, IdleConnTimeout: 30 * time.Second,
	}}}
}

// call sends a request with its parameters in the query string, as the app does.
func (c *api) call(method, path string, params url.Values) answer {
	return c.send(method, path, params, nil, "")
}

func (c *api) get(path string, params url.Values) answer { return c.call(http.MethodGet, path, params) }

func (c *api) post(path string, params url.Values) answer {
	return c.call(http.MethodPost, path, params)
}

// publish uploads a video as the app does (multipart).
func (c *api) publish(token, title string, clip []byte) answer {
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	_ = w.WriteField("token", token)
	_ = w.WriteField("title", title)
	part, _ := w.CreateFormFile("data", "clip.mp4")
	_, _ = part.Write(clip)
	_ = w.Close()
	return c.send(http.MethodPost, "/douyin/publish/action/", nil, body.Bytes(), w.FormDataContentType())
}

func (c *api) send(method, path string, params url.Values, body []byte, contentType string) answer {
	base := c.urls[int(c.next.Add(1)%uint64(len(c.urls)))]
	u := base + path
	if len(params) > 0 {
		u += "?" + params.Encode()
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, u, rd)
	if err != nil {
		return answer{outcome: notSent, err: err}
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		if errors.Is(err, syscall.ECONNREFUSED) {
			return answer{outcome: notSent, err: err}
		}
		return answer{outcome: unanswered, err: err}
	}
	raw, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	a := answer{http: resp.StatusCode, raw: string(raw)}
	if err != nil {
		a.outcome, a.err = unanswered, err
		return a
	}
	if json.Unmarshal(raw, &a.body) != nil {
		a.body = nil
	}
	a.code = num(a.body, "status_code")
	switch {
	case resp.StatusCode >= 500:
		a.outcome = serverError
	case resp.StatusCode == http.StatusOK && a.body != nil && a.code == 0:
		a.outcome = acked
	default:
		a.outcome = refused
	}
	return a
}

// fetch reads a media URL whole, returning its status and body.
func (c *api) fetch(u string) (int, []byte, error) {
	resp, err := c.hc.Get(u)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// JSON helpers over decoded answers.

func num(o map[string]any, key string) int64 { f, _ := o[key].(float64); return int64(f) }

func str(o map[string]any, key string) string { s, _ := o[key].(string); return s }

func isTrue(o map[string]any, key string) bool { b, _ := o[key].(bool); return b }

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

// pages reads every page of a list route; any failure is returned, for the
// caller to poll again.
func (c *api) pages(path string, q url.Values, key string) ([]map[string]any, error) {
	q.Set("count", "100")
	var all []map[string]any
	for range 10_000 {
		a := c.get(path, q)
		if !a.ok() {
			return nil, fmt.Errorf("GET %s?%s: %s", path, q.Encode(), a)
		}
		all = append(all, list(a.body, key)...)
		next := str(a.body, "next_cursor")
		if !isTrue(a.body, "has_more") || next == "" {
			return all, nil
		}
		q.Set("cursor", next)
	}
	return nil, fmt.Errorf("GET %s: pages without end", path)
}

package gateway

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/cloudwego/hertz/pkg/common/config"
	"github.com/cloudwego/hertz/pkg/common/ut"
	"github.com/cloudwego/hertz/pkg/route"

	"github.com/mdouyin/mdouyin/internal/platform/blob"
)

func TestParseRange(t *testing.T) {
	const size = 1000
	for _, tc := range []struct {
		h        string
		start, n int64
		ok       bool
	}{
		{"bytes=0-99", 0, 100, true},
		{"bytes=100-", 100, 900, true},
		{"bytes=-100", 900, 100, true},
		{"bytes=-5000", 0, 1000, true},
		{"bytes=990-5000", 990, 10, true},
		{"bytes= 5-5 ", 5, 1, true},
		{"bytes=0-0,10-20", 0, -1, true}, // several: the whole object
		{"bytes=1000-", 0, 0, false},     // starts past the end
		{"bytes=-0", 0, 0, false},
		{"bytes=5-4", 0, 0, false},
		{"bytes=a-b", 0, 0, false},
		{"bytes=+1-2", 0, 0, false},
		{"items=0-1", 0, 0, false},
		{"bytes=", 0, 0, false},
		{"bytes=5", 0, 0, false},
		{"bytes=2000-3000,5-9", 5, 5, true}, // the unsatisfiable part is dropped
	} {
		s, n, ok := parseRange(tc.h, size)
		if ok != tc.ok || (ok && (s != tc.start || n != tc.n)) {
			t.Errorf("parseRange(%q) = %d, %d, %v; want %d, %d, %v", tc.h, s, n, ok, tc.start, tc.n, tc.ok)
		}
	}
	if _, _, ok := parseRange("bytes=0-", 0); ok {
		t.Error("a range of an empty object was satisfiable")
	}
}

func TestMediaServer(t *testing.T) {
	store, err := blob.NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	content := bytes.Repeat([]byte("0123456789"), 100)
	info, err := store.Put(context.Background(), "videos/ab/cd/abcd.mp4", bytes.NewReader(content), "video/mp4")
	if err != nil {
		t.Fatal(err)
	}
	etag := `"` + info.ETag + `"`
	lastMod := info.ModTime.UTC().Format(http.TimeFormat)

	e := route.NewEngine(config.NewOptions(nil))
	m := newMediaServer(store, slog.New(slog.NewTextHandler(io.Discard, nil)))
	e.GET("/media/*key", m.serve)
	e.HEAD("/media/*key", m.serve)
	get := func(method, path string, headers ...string) *ut.ResponseRecorder {
		var hs []ut.Header
		for i := 0; i+1 < len(headers); i += 2 {
			hs = append(hs, ut.Header{Key: headers[i], Value: headers[i+1]})
		}
		return ut.PerformRequest(e, method, path, nil, hs...)
	}
	const path = "/media/videos/ab/cd/abcd.mp4"

	w := get("GET", path)
	r := w.Result()
	if w.Code != 200 || !bytes.Equal(r.Body(), content) {
		t.Fatalf("GET: %d, %d bytes", w.Code, len(r.Body()))
	}
	for k, want := range map[string]string{
		"Content-Type": "video/mp4", "Accept-Ranges": "bytes", "ETag": etag, "Last-Modified": lastMod,
		"Cache-Control": "public, max-age=31536000, immutable", "Content-Length": "1000",
	} {
		if got := string(r.Header.Peek(k)); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}

	w = get("GET", path, "Range", "bytes=10-19")
	r = w.Result()
	if w.Code != 206 || string(r.Body()) != "0123456789" || string(r.Header.Peek("Content-Range")) != "bytes 10-19/1000" {
		t.Fatalf("Range a-b: %d %q %q", w.Code, r.Body(), r.Header.Peek("Content-Range"))
	}
	w = get("GET", path, "Range", "bytes=-3")
	r = w.Result()
	if w.Code != 206 || string(r.Body()) != "789" || string(r.Header.Peek("Content-Range")) != "bytes 997-999/1000" {
		t.Fatalf("Range -n: %d %q %q", w.Code, r.Body(), r.Header.Peek("Content-Range"))
	}
	w = get("GET", path, "Range", "bytes=995-")
	if r = w.Result(); w.Code != 206 || string(r.Body()) != "56789" {
		t.Fatalf("Range a-: %d %q", w.Code, r.Body())
	}
	for _, bad := range []string{"bytes=1000-", "bytes=9-3", "bytes=x"} {
		w = get("GET", path, "Range", bad)
		if r = w.Result(); w.Code != 416 || string(r.Header.Peek("Content-Range")) != "bytes */1000" {
			t.Fatalf("Range %q: %d %q", bad, w.Code, r.Header.Peek("Content-Range"))
		}
	}

	// Conditional requests.
	if w = get("GET", path, "If-None-Match", `"other", `+etag); w.Code != 304 || len(w.Result().Body()) != 0 {
		t.Fatalf("If-None-Match with the ETag: %d", w.Code)
	}
	if w = get("GET", path, "If-None-Match", `"other"`); w.Code != 200 {
		t.Fatalf("If-None-Match with another ETag: %d", w.Code)
	}
	if w = get("GET", path, "If-Modified-Since", lastMod); w.Code != 304 {
		t.Fatalf("If-Modified-Since the modification time: %d", w.Code)
	}
	if w = get("GET", path, "Range", "bytes=0-1", "If-Range", etag); w.Code != 206 {
		t.Fatalf("If-Range with the ETag: %d", w.Code)
	}
	if w = get("GET", path, "Range", "bytes=0-1", "If-Range", `"stale"`); w.Code != 200 || len(w.Result().Body()) != 1000 {
		t.Fatalf("If-Range with a stale ETag: %d", w.Code)
	}
	if w = get("GET", path, "Range", "bytes=0-1", "If-Range", lastMod); w.Code != 206 {
		t.Fatalf("If-Range with the date: %d", w.Code)
	}

	// HEAD: the headers of GET, no body.
	w = get("HEAD", path)
	if r = w.Result(); w.Code != 200 || len(r.Body()) != 0 || string(r.Header.Peek("ETag")) != etag {
		t.Fatalf("HEAD: %d, %d bytes", w.Code, len(r.Body()))
	}

	// Unknown and hostile keys are simply not found.
	for _, p := range []string{"/media/videos/none.mp4", "/media/.tmp/x", "/media/videos/../../etc/passwd", "/media/", "/media/a//b"} {
		if w = get("GET", p); w.Code != 404 {
			t.Errorf("GET %s: %d, want 404", p, w.Code)
		}
	}
	if w = get("GET", "/media/videos/ab"); w.Code != 404 || strings.Contains(string(w.Result().Body()), "abcd") {
		t.Errorf("GET of a directory: %d", w.Code)
	}
}

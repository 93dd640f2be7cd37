package limits

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// uploadGrowth bounds how much the server's resident memory may grow while it
// refuses an oversized upload: the upload is never held in memory, so a few
// buffers' worth, far below the sizes claimed or sent.
const uploadGrowth = 32 << 20

// TestUploadClaim10GB sends a publish that declares a 10 GB body. The server
// must refuse it from the declared length (TooLarge, status_code 10) without
// reading the body, and close the connection; its memory must not grow. The
// claim comes three ways: with the body streaming as fast as the client can
// send it, with the client waiting for an answer before sending anything, and
// as a chunked body (no declared length) that never ends, which is cut off once
// it passes the upload limit.
func TestUploadClaim10GB(t *testing.T) {
	const attacker = "127.0.0.12"
	uploader := newUser(t, attacker)
	other := newUser(t, "127.0.0.22")
	head := func(framing string) string {
		return "POST /douyin/publish/action/?token=" + uploader.Token + "&title=big HTTP/1.1\r\nHost: limits\r\n" +
			"Content-Type: multipart/form-data; boundary=limitsboundary\r\n" + framing + "\r\n"
	}
	const claim = "Content-Length: 10737418240\r\n"
	partHead := "--limitsboundary\r\nContent-Disposition: form-data; name=\"data\"; filename=\"big.mp4\"\r\nContent-Type: video/mp4\r\n\r\n"
	for _, tc := range []struct {
		name    string
		framing string
		stream  bool   // send the body as fast as possible
		chunked bool   // send it in chunks of this encoding
		wantMsg string // in status_msg
	}{
		{"declared, streaming", claim, true, false, "larger than"},
		{"declared, waiting for an answer", claim, false, false, "larger than"},
		{"chunked, never ending", "Transfer-Encoding: chunked\r\n", true, true, "larger than"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rss0, _ := srv.memory(t)
			srv.resetPeak(t)
			var sent atomic.Int64
			var r reply
			var took time.Duration
			whileServed(t, other, func() {
				conn, err := dialFrom(attacker)
				if err != nil {
					t.Fatal(err)
				}
				defer conn.Close()
				conn.SetDeadline(time.Now().Add(60 * time.Second))
				began := time.Now()
				if _, err := io.WriteString(conn, head(tc.framing)); err != nil {
					t.Fatal(err)
				}
				if tc.stream {
					go func() {
						chunk := make([]byte, 64<<10)
						first := []byte(partHead)
						if tc.chunked {
							first = fmt.Appendf(nil, "%x\r\n%s\r\n", len(partHead), partHead)
							chunk = fmt.Appendf(nil, "%x\r\n%s\r\n", len(chunk), chunk)
						}
						if n, err := conn.Write(first); err == nil {
							sent.Add(int64(n))
						}
						for {
							n, err := conn.Write(chunk)
							sent.Add(int64(n))
							if err != nil {
								return // the server closed the connection
							}
						}
					}()
				}
				br := bufio.NewReader(conn)
				resp, err := http.ReadResponse(br, nil)
				if err != nil {
					t.Fatalf("no answer to a 10 GB claim: %v", err)
				}
				raw, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				took = time.Since(began)
				r = reply{HTTP: resp.StatusCode, Raw: string(raw)}
				if err := json.Unmarshal(raw, &r.Body); err != nil || resp.StatusCode != http.StatusOK {
					t.Fatalf("oversized upload: HTTP %d %q, want 200 with a JSON status", resp.StatusCode, raw)
				}
				// The server ends the connection: the rest of the body is
				// never read.
				if _, err := br.ReadByte(); err == nil {
					t.Error("the connection carried more after the refusal")
				} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
					t.Error("the connection stayed open after the refusal")
				}
			})
			srv.alive(t)
			_, peak := srv.memory(t)
			if r.code() != 10 || !strings.Contains(r.msg(), tc.wantMsg) {
				t.Errorf("oversized upload answered %s; want status_code 10 (TooLarge) saying %q", r.Raw, tc.wantMsg)
			}
			if tc.chunked && sent.Load() < maxUploadBytes {
				t.Errorf("a chunked upload was refused after %d bytes, before reaching the %d-byte limit", sent.Load(), maxUploadBytes)
			}
			// What the client manages to send beyond what the server reads
			// sits in the two sockets' buffers: a few MiB on loopback.
			limit := int64(64 << 20)
			if tc.chunked {
				limit += maxUploadBytes
			}
			if sent.Load() > limit {
				t.Errorf("the client sent %s before the connection closed: the server read the body", mib(sent.Load()))
			}
			if peak-rss0 > uploadGrowth {
				t.Errorf("server memory grew by %s while refusing the upload (bound %s)", mib(peak-rss0), mib(uploadGrowth))
			}
			t.Logf("10 GB claim (%s): answered in %v after the client sent %s: %s; server memory %s, peak +%s; another user: %s",
				tc.name, took.Round(time.Millisecond), mib(sent.Load()), r.Raw, mib(rss0), mib(peak-rss0), other.latencies())
		})
	}
}

// TestBodyLimit sends an ordinary route a body over http.max_body_bytes (the
// default, 1 MiB): refused with TooLarge, the server's memory unchanged,
// another user served. Declared at 1.5 MiB, the rest of the body is read and
// thrown away, so an ordinary client, which reads its answer only after
// sending everything, gets the answer; chunked, the server stops reading once
// the body passes the limit, so the raw client reads while it sends. An upload
// a little over its own limit gets its answer the same way.
func TestBodyLimit(t *testing.T) {
	const maxBody = 1 << 20
	writer := newUser(t, "127.0.0.29")
	other := newUser(t, "127.0.0.30")
	path := "/douyin/comment/action/?video_id=1&action_type=1&token=" + writer.Token
	body := "comment_text=" + strings.Repeat("a", 3*maxBody/2)
	for _, chunked := range []bool{false, true} {
		rss0, _ := srv.memory(t)
		srv.resetPeak(t)
		var r reply
		whileServed(t, other, func() {
			if !chunked {
				req, err := http.NewRequest(http.MethodPost, srv.base+path, strings.NewReader(body))
				if err != nil {
					t.Fatal(err)
				}
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				if r, err = do(writer.c, req); err != nil {
					t.Fatalf("a 1.5 MiB body: %v", err)
				}
				return
			}
			conn, err := dialFrom(writer.ip)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			conn.SetDeadline(time.Now().Add(otherDeadline))
			go func() {
				fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: limits\r\nContent-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n", path)
				for i := 0; i < 2*maxBody; i += 64 << 10 {
					if _, err := fmt.Fprintf(conn, "%x\r\n%s\r\n", 64<<10, strings.Repeat("a", 64<<10)); err != nil {
						return
					}
				}
				io.WriteString(conn, "0\r\n\r\n")
			}()
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				t.Fatalf("a 2 MiB chunked body: no answer: %v", err)
			}
			raw, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			r = reply{HTTP: resp.StatusCode, Raw: string(raw)}
			json.Unmarshal(raw, &r.Body)
		})
		_, peak := srv.memory(t)
		if r.HTTP != http.StatusOK || r.code() != 10 || !strings.Contains(r.msg(), "larger than 1048576 bytes") {
			t.Errorf("an oversized comment body (chunked %v): HTTP %d %s; want status_code 10 (TooLarge)", chunked, r.HTTP, r.Raw)
		}
		if peak-rss0 > uploadGrowth {
			t.Errorf("server memory grew by %s while refusing an oversized body", mib(peak-rss0))
		}
		t.Logf("oversized body to an ordinary route (chunked %v): %s; server peak +%s; another user: %s", chunked, r.Raw, mib(peak-rss0), other.latencies())
	}
	// The same for an upload a little over its limit, sent by an ordinary
	// client: the answer, not a reset connection.
	if r := upload(t, writer, "big.mp4", make([]byte, maxUploadBytes+maxUploadBytes/8)); r.code() != 10 || !strings.Contains(r.msg(), "larger than") {
		t.Errorf("an upload of 9 MiB (limit 8 MiB): %s; want status_code 10 (TooLarge)", r.Raw)
	}
}

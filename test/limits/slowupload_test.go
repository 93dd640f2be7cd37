package limits

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"testing"
	"time"
)

// TestSlowUpload sends a publish whose body trickles in. Moving, it may take
// longer than the read timeout of other requests: the upload has its own
// (http.upload_timeout), so a clip sent over about twice readTimeout is
// published. Stalled, the connection is cut once the upload timeout passes, so
// a client cannot hold an upload open for ever.
func TestSlowUpload(t *testing.T) {
	const ip = "127.0.0.14"
	uploader := newUser(t, ip)
	// About 30 KB: more than the 8 KB of a body the HTTP server reads before the
	// route sees the request (under the read timeout, as for any request).
	clip := makeVideo(t, "slow.mp4", "-f", "lavfi", "-i", "testsrc=duration=2:size=320x240:rate=25",
		"-c:v", "libx264", "-crf", "5", "-pix_fmt", "yuv420p")
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	w.WriteField("token", uploader.Token)
	w.WriteField("title", "limits slow upload")
	fw, err := w.CreateFormFile("data", "slow.mp4")
	if err != nil {
		t.Fatal(err)
	}
	fw.Write(clip)
	w.Close()
	head := fmt.Sprintf("POST /douyin/publish/action/ HTTP/1.1\r\nHost: limits\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n",
		w.FormDataContentType(), body.Len())

	send := func(t *testing.T, over time.Duration, stallAfter int) (reply, time.Duration, error) {
		conn, err := dialFrom(ip)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(uploadTimeout + 30*time.Second))
		began := time.Now()
		if _, err := io.WriteString(conn, head); err != nil {
			t.Fatal(err)
		}
		// The first 12 KB at once, then the rest in nine pieces spread over
		// `over` (the spacing is the test's input: a slow link), or nothing
		// more after stallAfter of them.
		b := body.Bytes()
		const first = 12 << 10
		if _, err := conn.Write(b[:first]); err != nil {
			t.Fatal(err)
		}
		rest := b[first:]
		for i := range 9 {
			if i == stallAfter {
				break
			}
			time.Sleep(over / 9)
			if _, err := conn.Write(rest[i*len(rest)/9 : (i+1)*len(rest)/9]); err != nil {
				return reply{}, time.Since(began), err
			}
		}
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			return reply{}, time.Since(began), err
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		r := reply{HTTP: resp.StatusCode, Raw: string(raw)}
		json.Unmarshal(raw, &r.Body)
		return r, time.Since(began), nil
	}

	t.Run("moving, slower than the read timeout", func(t *testing.T) {
		r, took, err := send(t, 2*readTimeout, -1)
		if err != nil {
			t.Fatalf("a slow upload was cut off after %v: %v", took.Round(time.Millisecond), err)
		}
		if r.HTTP != http.StatusOK || r.code() != 0 {
			t.Fatalf("a slow upload (%v) answered HTTP %d %s", took.Round(time.Millisecond), r.HTTP, r.Raw)
		}
		t.Logf("a %d-byte upload sent over %v was published (answered after %v)", body.Len(), 2*readTimeout, took.Round(time.Millisecond))
	})

	t.Run("stalled", func(t *testing.T) {
		r, took, err := send(t, 0, 0)
		if err == nil && r.HTTP == http.StatusOK && r.code() == 0 {
			t.Fatalf("a stalled upload was published: %s", r.Raw)
		}
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Fatalf("the server still held a stalled upload %v after it began (upload timeout %v)", took.Round(time.Millisecond), uploadTimeout)
		}
		if took < uploadTimeout-time.Second {
			t.Errorf("a stalled upload was cut after %v, before the upload timeout %v", took.Round(time.Millisecond), uploadTimeout)
		}
		t.Logf("a stalled upload was ended after %v (upload timeout %v): %v %s", took.Round(time.Millisecond), uploadTimeout, err, r.Raw)
		srv.alive(t)
	})
}

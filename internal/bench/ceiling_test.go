package bench

import (
	"bytes"
	"context"
	"io"
	"net"
	"os"
	"testing"
	"time"
)

func TestCeilingReplaysTheRecording(t *testing.T) {
	rec := Recording{Body: []byte(`{"next_time":1,"status_code":0,"status_msg":"","video_list":[]}`), ContentType: "application/json; charset=utf-8"}
	c, err := StartCeiling(rec)
	if err != nil {
		t.Fatal(err)
	}
	client := setupClient(10 * time.Second)
	for _, path := range []string{"/douyin/feed/", "/douyin/feed"} {
		resp, err := client.Get(c.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !bytes.Equal(body, rec.Body) || resp.Header.Get("Content-Type") != rec.ContentType {
			t.Errorf("GET %s: %d %q %q", path, resp.StatusCode, resp.Header.Get("Content-Type"), body)
		}
	}
	// RecordFeed keeps exactly what it was answered.
	got, err := RecordFeed(context.Background(), client, c.URL)
	if err != nil || !bytes.Equal(got.Body, rec.Body) || got.ContentType != rec.ContentType {
		t.Errorf("RecordFeed: %v %+v", err, got)
	}
	client.CloseIdleConnections()
	if err := c.Stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	if _, err := client.Get(c.URL + "/douyin/feed/"); err == nil {
		t.Error("the ceiling still answers after Stop")
	}
}

func TestProcSampling(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if pid := ListenerPID(ln.Addr().(*net.TCPAddr).Port); pid != os.Getpid() {
		t.Errorf("ListenerPID found %d, want this process %d", pid, os.Getpid())
	}
	s, err := SampleProc(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if s.RSSKiB <= 0 || s.HWMKiB < s.RSSKiB || s.CPU < 0 {
		t.Errorf("sample %+v", s)
	}
	// Burn some CPU: the next sample's CPU time must not go backwards and
	// selfCPU must see it too.
	before := selfCPU()
	x := 0
	for i := range 50_000_000 {
		x += i % 7
	}
	if x == 0 || selfCPU() <= before {
		t.Errorf("selfCPU did not advance")
	}
	if s2, err := SampleProc(os.Getpid()); err != nil || s2.CPU < s.CPU {
		t.Errorf("second sample %+v %v", s2, err)
	}
	if _, err := SampleProc(-1); err == nil {
		t.Error("a sample of no process")
	}
}

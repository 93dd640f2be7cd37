package limits

import (
	"context"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// makeVideo runs ffmpeg with args, writing name in a temporary directory, and
// returns the file.
func makeVideo(t *testing.T, name string, args ...string) []byte {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	began := time.Now()
	cmd := exec.Command("ffmpeg", append(append([]string{"-v", "error", "-nostdin"}, args...), "-y", path)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg making %s: %v\n%s", name, err, out)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("made %s: %d bytes in %v", name, len(b), time.Since(began).Round(time.Millisecond))
	return b
}

// TestVideoBombs uploads small files that cost the media pipeline far more than
// their size: a frame wider than the probe accepts, two frames ten hours apart
// (turned into a constant-rate MP4, that is hours of frames to encode), and one
// 8192×8192 frame, within the probe's bounds but needing more memory to decode
// than an ffmpeg run may have. Each is refused with a clear error (never a 5xx),
// by the probe, the time limit or the memory limit, while another user is
// served; afterwards no ffmpeg is left running and an ordinary upload succeeds,
// so the one ffmpeg worker is free again.
func TestVideoBombs(t *testing.T) {
	uploader := newUser(t, "127.0.0.13")
	other := newUser(t, "127.0.0.23")

	bombs := []struct {
		name      string
		file      []byte
		wantCode  int64
		wantMsg   string
		stoppedBy string
	}{
		{
			name: "wide.mkv", wantCode: 11001, wantMsg: "frame size", stoppedBy: "probe limit",
			file: makeVideo(t, "wide.mkv", "-f", "lavfi", "-i", "color=black:s=16400x16:r=10:d=0.2", "-c:v", "mjpeg", "-pix_fmt", "yuvj420p"),
		},
		{
			name: "ten-hours.mkv", wantCode: 10, wantMsg: "too long", stoppedBy: "time limit",
			// Five frames at 25 fps, the last one ten hours after the first.
			file: makeVideo(t, "ten-hours.mkv", "-f", "lavfi", "-i", "color=black:s=64x64:r=25:d=0.2",
				"-vf", "setpts='if(eq(N,4),36000/TB,PTS)'", "-c:v", "mjpeg", "-fps_mode", "vfr"),
		},
		{
			name: "8k.mp4", wantCode: 10, wantMsg: "memory", stoppedBy: "memory limit",
			file: makeVideo(t, "8k.mp4", "-f", "lavfi", "-i", "color=black:s=8192x8192:r=10:d=0.1", "-frames:v", "1",
				"-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"),
		},
	}
	ordinary := makeVideo(t, "ordinary.mp4", "-f", "lavfi", "-i", "testsrc=duration=1:size=160x120:rate=15",
		"-c:v", "libx264", "-pix_fmt", "yuv420p")

	whileServed(t, other, func() {
		for _, b := range bombs {
			began := time.Now()
			r := upload(t, uploader, b.name, b.file)
			took := time.Since(began)
			if r.HTTP != http.StatusOK || r.code() != b.wantCode || !strings.Contains(r.msg(), b.wantMsg) {
				t.Errorf("%s (%d bytes): answered HTTP %d %s; want status_code %d saying %q (the %s)",
					b.name, len(b.file), r.HTTP, r.Raw, b.wantCode, b.wantMsg, b.stoppedBy)
				continue
			}
			t.Logf("%s (%d bytes): refused by the %s in %v: %s", b.name, len(b.file), b.stoppedBy, took.Round(time.Millisecond), r.msg())
		}
	})
	srv.alive(t)
	t.Logf("video bombs: another user, meanwhile: %s", other.latencies())

	// No ffmpeg outlives its upload.
	deadline := time.Now().Add(otherDeadline)
	for len(srv.children()) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("ffmpeg processes %v still run after every upload was answered", srv.children())
		}
		time.Sleep(50 * time.Millisecond) // polling the process table
	}

	// The pool is free: an ordinary video goes through, and nothing of the
	// refused ones was published.
	began := time.Now()
	if r := upload(t, uploader, "ordinary.mp4", ordinary); r.code() != 0 {
		t.Fatalf("an ordinary upload after the bombs: %s", r.Raw)
	}
	t.Logf("ordinary upload after the bombs: published in %v", time.Since(began).Round(time.Millisecond))
	ctx, cancel := context.WithTimeout(context.Background(), otherDeadline)
	defer cancel()
	r, err := call(ctx, uploader.c, http.MethodGet, "/douyin/publish/list/",
		url.Values{"token": {uploader.Token}, "user_id": {strconv.FormatInt(uploader.ID, 10)}})
	if err != nil {
		t.Fatal(err)
	}
	if list, _ := r.Body["video_list"].([]any); len(list) != 1 {
		t.Errorf("the uploader's publish list has %d videos, want only the ordinary one: %s", len(list), r.Raw)
	}
}

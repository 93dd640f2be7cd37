package seed

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/mdouyin/mdouyin/internal/platform/blob"
)

// Media is the one video file and cover every seeded video shares: the app plays
// real bytes, but a million videos cost one file each, not a million.
type Media struct {
	PlayKey  string
	CoverKey string
}

// The prefixes and types the video role stores uploads under, so seeded media
// looks like uploaded media to every reader.
const (
	videoPrefix = "videos"
	coverPrefix = "covers"
)

// MakeMedia renders a short H.264/AAC clip (a test pattern with a tone, portrait
// like a phone's video, metadata first so playback starts at once) and a JPEG
// cover from its first frame with ffmpeg in a temporary directory under tmpDir
// (the system's when empty), and stores both in blobs under their content
// addresses. The encoder runs single-threaded with bit-exact flags, so repeated
// runs produce the same bytes and thus the same keys.
func MakeMedia(ctx context.Context, ffmpeg, tmpDir string, blobs blob.Store) (Media, error) {
	dir, err := os.MkdirTemp(tmpDir, "mdouyin-seed-")
	if err != nil {
		return Media{}, err
	}
	defer os.RemoveAll(dir)
	video, cover := filepath.Join(dir, "seed.mp4"), filepath.Join(dir, "seed.jpg")
	if err := runFFmpeg(ctx, ffmpeg,
		"-f", "lavfi", "-i", "testsrc2=size=360x640:rate=25:duration=3",
		"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100:duration=3",
		"-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", "-threads", "1",
		"-c:a", "aac", "-b:a", "64k", "-shortest",
		"-map_metadata", "-1", "-fflags", "+bitexact", "-flags:v", "+bitexact", "-flags:a", "+bitexact",
		"-movflags", "+faststart", video); err != nil {
		return Media{}, err
	}
	if err := runFFmpeg(ctx, ffmpeg, "-i", video, "-frames:v", "1", "-q:v", "3",
		"-fflags", "+bitexact", "-flags:v", "+bitexact", cover); err != nil {
		return Media{}, err
	}
	var m Media
	if m.PlayKey, err = putContent(ctx, blobs, videoPrefix, ".mp4", video, "video/mp4"); err != nil {
		return Media{}, err
	}
	if m.CoverKey, err = putContent(ctx, blobs, coverPrefix, ".jpg", cover, "image/jpeg"); err != nil {
		return Media{}, err
	}
	return m, nil
}

// runFFmpeg runs ffmpeg quietly, returning its last output lines on failure.
func runFFmpeg(ctx context.Context, ffmpeg string, args ...string) error {
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, ffmpeg, append([]string{"-hide_banner", "-loglevel", "error", "-nostdin", "-y"}, args...)...)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		tail := out.Bytes()
		if len(tail) > 2000 {
			tail = tail[len(tail)-2000:]
		}
		return fmt.Errorf("seed: ffmpeg: %w: %s", err, bytes.TrimSpace(tail))
	}
	return nil
}

// putContent stores the file under its content address, like an upload's media;
// existing bytes under that key are kept.
func putContent(ctx context.Context, blobs blob.Store, prefix, ext, path, contentType string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	size, err := io.Copy(h, f)
	f.Close()
	if err != nil {
		return "", err
	}
	key := blob.ContentAddressedKey(prefix, h.Sum(nil), ext)
	if info, err := blobs.Stat(ctx, key); err == nil && info.Size == size {
		return key, nil
	}
	if _, err := blobs.PutFile(ctx, key, path, contentType); err != nil {
		return "", fmt.Errorf("seed: store %s: %w", key, err)
	}
	return key, nil
}

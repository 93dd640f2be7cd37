package videosvc_test

import (
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/mdouyin/mdouyin/internal/videosvc"
)

// TestPipelineMemoryLimit checks that a memory limit too small for ffmpeg to
// start is reported when the pipeline is made, not at the first upload, and
// that the default leaves ffmpeg room. (test/limits shows the limit stopping a
// video that decodes to too much memory.)
func TestPipelineMemoryLimit(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the memory limit applies on Linux only")
	}
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("ffmpeg is required in CI: apt-get install ffmpeg")
		}
		t.Skip("ffmpeg not installed")
	}
	opts := videosvc.PipelineOptions{FFmpegPath: "ffmpeg", FFprobePath: "ffprobe", Workers: 1, Timeout: 30 * time.Second, Threads: 1}
	small := opts
	small.MemoryLimit = 32 << 20 // below what ffmpeg's libraries alone take
	if _, err := videosvc.NewPipeline(small); err == nil || !strings.Contains(err.Error(), "memory limit of 32 MiB") {
		t.Errorf("NewPipeline with a 32 MiB limit: %v; want an error naming the limit", err)
	}
	if _, err := videosvc.NewPipeline(opts); err != nil {
		t.Errorf("NewPipeline with the default limit (%d MiB): %v", videosvc.DefaultMemoryLimit(1)>>20, err)
	}
}

package videosvc

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/mdouyin/mdouyin/internal/errs"
	"github.com/mdouyin/mdouyin/kitex_gen/base"
)

// The media pipeline: what an uploaded file must be to become a video, and the
// ffmpeg runs that check it, take its cover and make it playable.

// Answers for files that are not usable videos. They do not say which check
// failed: nothing a client could do with that, and less for a prober to learn.
var (
	errNotVideo   = errs.New(base.ErrCode_VideoFileInvalid, "the file is not a video we can read; please upload an MP4, MOV, WebM, MKV, AVI, FLV or TS video")
	errUndecoded  = errs.New(base.ErrCode_VideoFileInvalid, "the video could not be decoded; the file may be damaged or incomplete")
	errTooSlow    = errs.New(base.ErrCode_TooLarge, "the video took too long to process; please upload a shorter or smaller video")
	errTooBig     = errs.New(base.ErrCode_TooLarge, "the video needs more memory to process than this server allows; please upload a smaller video")
	errEmptyVideo = errs.New(base.ErrCode_VideoFileInvalid, "the file is empty")
)

// container is a family of video files recognised by its first bytes, with the
// ffmpeg demuxer that must read it. Pinning the demuxer to what the magic number
// says keeps ffmpeg's probing from reading a file as some other format (a
// playlist, an image sequence) that the checks were not made for.
type container struct {
	name    string
	demuxer string // for -format_whitelist
	match   func(head []byte) bool
}

var containers = []container{
	{"ISO base media (MP4, MOV, 3GP)", "mov", func(h []byte) bool {
		if len(h) < 12 {
			return false
		}
		switch string(h[4:8]) {
		case "ftyp", "moov", "mdat", "wide", "free", "skip":
			return true
		}
		return false
	}},
	{"Matroska/WebM", "matroska", func(h []byte) bool { return bytes.HasPrefix(h, []byte{0x1A, 0x45, 0xDF, 0xA3}) }},
	{"AVI", "avi", func(h []byte) bool { return len(h) >= 12 && string(h[:4]) == "RIFF" && string(h[8:12]) == "AVI " }},
	{"FLV", "flv", func(h []byte) bool { return bytes.HasPrefix(h, []byte("FLV\x01")) }},
	{"MPEG-TS", "mpegts", func(h []byte) bool { return len(h) > 376 && h[0] == 0x47 && h[188] == 0x47 && h[376] == 0x47 }},
	{"MPEG-PS", "mpeg", func(h []byte) bool { return bytes.HasPrefix(h, []byte{0x00, 0x00, 0x01, 0xBA}) }},
	{"ASF/WMV", "asf", func(h []byte) bool {
		return bytes.HasPrefix(h, []byte{0x30, 0x26, 0xB2, 0x75, 0x8E, 0x66, 0xCF, 0x11})
	}},
}

// sniffLen is how much of a file sniff reads: enough for three MPEG-TS packets.
const sniffLen = 512

// sniff identifies the container of the file at path by its magic number, or
// refuses it.
func sniff(path string) (container, error) {
	f, err := os.Open(path)
	if err != nil {
		return container{}, err
	}
	defer f.Close()
	head := make([]byte, sniffLen)
	n, err := io.ReadFull(f, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return container{}, err
	}
	if n == 0 {
		return container{}, errEmptyVideo
	}
	for _, c := range containers {
		if c.match(head[:n]) {
			return c, nil
		}
	}
	return container{}, errNotVideo
}

// Limits on what the pipeline accepts.
const (
	// maxDimension bounds either side of a frame: decoding costs grow with the
	// area, and a crafted file could otherwise ask for gigapixel frames.
	maxDimension = 8192
	// coverScanSeconds bounds the search for a scene change: covers come from the
	// opening of a video, and a long video without cuts should not be read whole.
	coverScanSeconds = 60
	// stderrKeep is how much of ffmpeg's error output is kept for the log.
	stderrKeep = 2048
)

// PipelineOptions configure the ffmpeg pipeline.
type PipelineOptions struct {
	FFmpegPath  string
	FFprobePath string
	// Workers bounds concurrent ffmpeg jobs (one job: probe, decode check, cover,
	// remux or transcode). Uploads beyond it wait their turn.
	Workers int
	// Timeout bounds each ffmpeg or ffprobe run.
	Timeout time.Duration
	// Threads bounds the threads of each ffmpeg run; 0 lets ffmpeg choose.
	Threads int
	// MemoryLimit bounds the address space of each ffmpeg or ffprobe run, in
	// bytes (RLIMIT_AS, on Linux only); 0 picks DefaultMemoryLimit(Threads).
	MemoryLimit int64
}

// DefaultMemoryLimit is the address space an ffmpeg run gets when none is
// configured. ffmpeg 5.1 maps about 270 MiB of libraries before it reads
// anything, and transcoding a 4K video peaked at 0.95 GiB with one thread and
// about 190 MiB more per extra thread; the default leaves room above that
// while still stopping a file that decodes to far more.
func DefaultMemoryLimit(threads int) int64 {
	if threads <= 0 {
		threads = runtime.NumCPU()
	}
	return (1024 + 256*int64(threads)) << 20
}

// Pipeline checks uploaded files and turns them into a playable MP4 and a JPEG
// cover with ffmpeg, a bounded number of jobs at a time. It is safe for
// concurrent use.
type Pipeline struct {
	o     PipelineOptions
	slots chan struct{}

	inFlight atomic.Int64
	queued   atomic.Int64
	peak     atomic.Int64
}

// NewPipeline checks that ffmpeg and ffprobe can be found and returns a pipeline.
func NewPipeline(o PipelineOptions) (*Pipeline, error) {
	if o.Workers < 1 {
		return nil, fmt.Errorf("videosvc: ffmpeg workers must be at least 1, got %d", o.Workers)
	}
	if o.Timeout <= 0 {
		return nil, fmt.Errorf("videosvc: ffmpeg timeout must be positive, got %v", o.Timeout)
	}
	for _, p := range []*string{&o.FFmpegPath, &o.FFprobePath} {
		abs, err := exec.LookPath(*p)
		if err != nil {
			return nil, fmt.Errorf("videosvc: %s not found (install ffmpeg, or set video.ffmpeg_path and video.ffprobe_path): %w", *p, err)
		}
		*p = abs
	}
	if o.MemoryLimit == 0 {
		o.MemoryLimit = DefaultMemoryLimit(o.Threads)
	}
	if o.MemoryLimit < 0 {
		return nil, fmt.Errorf("videosvc: ffmpeg memory limit must be positive, got %d", o.MemoryLimit)
	}
	p := &Pipeline{o: o, slots: make(chan struct{}, o.Workers)}
	// A limit too small for the tools to start would refuse every upload as
	// undecodable; say so now instead.
	for _, tool := range []string{o.FFmpegPath, o.FFprobePath} {
		ctx, cancel := context.WithTimeout(context.Background(), o.Timeout)
		cmd := p.command(ctx, tool, "-version")
		out, err := cmd.CombinedOutput()
		cancel()
		if err != nil {
			return nil, fmt.Errorf("videosvc: %s does not start within the memory limit of %d MiB (video.ffmpeg_memory_mib): %v: %s",
				tool, o.MemoryLimit>>20, err, bytes.TrimSpace(lastBytes(out, stderrKeep)))
		}
	}
	return p, nil
}

// command runs tool with args under ctx and the memory limit. Go cannot set a
// child's resource limits, so on Linux a shell sets RLIMIT_AS and then becomes
// the tool (exec): the limit holds from the tool's first instruction, and the
// process ctx kills is the tool itself. A run past the limit fails its
// allocations and exits with an error, instead of taking the machine's memory.
func (p *Pipeline) command(ctx context.Context, tool string, args ...string) *exec.Cmd {
	if runtime.GOOS != "linux" {
		return exec.CommandContext(ctx, tool, args...)
	}
	kib := strconv.FormatInt(max(p.o.MemoryLimit>>10, 1), 10)
	sh := append([]string{"-c", `ulimit -v "$1" && shift && exec "$@"`, "ffmpeg-limit", kib, tool}, args...)
	return exec.CommandContext(ctx, "/bin/sh", sh...)
}

// lastBytes is the end of b, at most n bytes of it.
func lastBytes(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

// InFlight is the number of jobs running now.
func (p *Pipeline) InFlight() int64 { return p.inFlight.Load() }

// Queued is the number of jobs waiting for a worker.
func (p *Pipeline) Queued() int64 { return p.queued.Load() }

// PeakInFlight is the largest number of jobs that ever ran at once.
func (p *Pipeline) PeakInFlight() int64 { return p.peak.Load() }

// queuePerWorker bounds the uploads waiting for a worker: each holds its file
// (up to http.max_upload_bytes on disk) and a request while it waits, and past a
// few minutes' backlog a waiting client is better told to come back.
const queuePerWorker = 16

// errBusy answers an upload that finds the queue full.
var errBusy = errs.New(base.ErrCode_Unavailable, "too many videos are being processed right now; please try again in a minute")

// acquire waits for a worker slot, as long as ctx allows and the queue has room
// (queuePerWorker per worker): a queued upload is never dropped, only abandoned
// by its caller.
func (p *Pipeline) acquire(ctx context.Context) (release func(), err error) {
	if p.queued.Add(1) > int64(p.o.Workers*queuePerWorker) {
		p.queued.Add(-1)
		return nil, errBusy
	}
	select {
	case p.slots <- struct{}{}:
		p.queued.Add(-1)
	case <-ctx.Done():
		p.queued.Add(-1)
		return nil, ctx.Err()
	}
	n := p.inFlight.Add(1)
	for {
		old := p.peak.Load()
		if n <= old || p.peak.CompareAndSwap(old, n) {
			break
		}
	}
	return func() {
		p.inFlight.Add(-1)
		<-p.slots
	}, nil
}

// Media is the result of processing one upload: files in the job's directory.
type Media struct {
	VideoPath string // H.264/AAC MP4 with its index first (faststart)
	CoverPath string // JPEG
}

// Process checks the file at in (already known to be c by its magic number) and
// writes the playable video and the cover into dir. Files that do not decode are
// refused with a VideoFileInvalid error.
func (p *Pipeline) Process(ctx context.Context, in string, c container, dir string) (*Media, error) {
	release, err := p.acquire(ctx)
	if err != nil {
		return nil, err
	}
	defer release()

	info, err := p.probe(ctx, in, c)
	if err != nil {
		return nil, err
	}
	v := info.video()
	if v == nil {
		return nil, errNotVideo
	}
	if v.Width <= 0 || v.Height <= 0 || v.Width > maxDimension || v.Height > maxDimension {
		return nil, errs.Newf(base.ErrCode_VideoFileInvalid, "the video's frame size must be at most %d×%d", maxDimension, maxDimension)
	}
	// ffprobe reads headers only and accepts a truncated file; decoding every
	// frame, stopping at the first error, is what proves the file whole.
	if err := p.run(ctx, "decode check", p.inputArgs(c, in, false, "-map", "0:v:0", "-map", "0:a:0?", "-f", "null", "-")...); err != nil {
		return nil, asInvalid(err, errUndecoded)
	}
	m := &Media{VideoPath: filepath.Join(dir, "play.mp4"), CoverPath: filepath.Join(dir, "cover.jpg")}
	if err := p.cover(ctx, in, c, m.CoverPath); err != nil {
		return nil, err
	}
	if info.playable() {
		// Already what the app plays: only move the index to the front so playback
		// starts before the download ends. Copying can still fail on odd
		// timestamps (H.264 in AVI, say); transcoding then fixes them.
		err := p.run(ctx, "remux", p.inputArgs(c, in, false, p.outputArgs(false, m.VideoPath)...)...)
		var ie *inputError
		if !errors.As(err, &ie) {
			if err != nil {
				return nil, err
			}
			return m, nil
		}
	}
	if err := p.run(ctx, "transcode", p.inputArgs(c, in, false, p.outputArgs(true, m.VideoPath)...)...); err != nil {
		return nil, err
	}
	return m, nil
}

// outputArgs write the first video and audio stream to out as an MP4 with its
// index first, without metadata (phones record the place a video was shot),
// copied or transcoded to H.264/AAC.
func (p *Pipeline) outputArgs(transcode bool, out string) []string {
	args := []string{"-map", "0:v:0", "-map", "0:a:0?", "-sn", "-dn", "-map_metadata", "-1"}
	if transcode {
		args = append(args,
			"-vf", "scale=trunc(iw/2)*2:trunc(ih/2)*2", "-pix_fmt", "yuv420p",
			"-c:v", "libx264", "-preset", "veryfast", "-crf", "23",
			"-c:a", "aac", "-b:a", "128k")
		args = append(args, p.threadArgs()...) // the encoder's
	} else {
		args = append(args, "-c", "copy")
	}
	return append(args, "-movflags", "+faststart", "-f", "mp4", "-y", out)
}

// cover writes a JPEG of the first scene-change keyframe in the opening of the
// video, or of its first frame when there is none.
func (p *Pipeline) cover(ctx context.Context, in string, c container, out string) error {
	jpeg := []string{"-frames:v", "1", "-q:v", "3", "-f", "image2", "-update", "1", "-y", out}
	scene := append([]string{"-vf", "select='gt(scene,0.3)'", "-fps_mode", "vfr"}, jpeg...)
	if err := p.run(ctx, "cover (scene change)", p.inputArgs(c, in, true, scene...)...); err != nil {
		return asInvalid(err, errUndecoded)
	}
	if fi, err := os.Stat(out); err == nil && fi.Size() > 0 {
		return nil
	}
	if err := p.run(ctx, "cover (first frame)", p.inputArgs(c, in, false, jpeg...)...); err != nil {
		return asInvalid(err, errUndecoded)
	}
	if fi, err := os.Stat(out); err != nil || fi.Size() == 0 {
		return errUndecoded
	}
	return nil
}

// inputArgs are ffmpeg's arguments to read in safely, followed by out: no
// terminal, only local files, only the demuxer the magic number named, stop at
// the first decoding error. keyframes reads only the opening keyframes (the
// scene-change search).
func (p *Pipeline) inputArgs(c container, in string, keyframes bool, out ...string) []string {
	args := []string{"-nostdin", "-hide_banner", "-v", "error", "-xerror"}
	if p.o.Threads > 0 {
		args = append(args, "-filter_threads", strconv.Itoa(p.o.Threads))
	}
	args = append(args, p.threadArgs()...) // the decoder's
	if keyframes {
		args = append(args, "-skip_frame", "nokey", "-t", strconv.Itoa(coverScanSeconds))
	}
	args = append(args, "-protocol_whitelist", "file", "-format_whitelist", c.demuxer, "-i", "file:"+in)
	return append(args, out...)
}

func (p *Pipeline) threadArgs() []string {
	if p.o.Threads <= 0 {
		return nil
	}
	return []string{"-threads", strconv.Itoa(p.o.Threads)}
}

// probeInfo is the part of ffprobe's JSON the pipeline reads.
type probeInfo struct {
	Streams []probeStream `json:"streams"`
}

type probeStream struct {
	CodecType   string `json:"codec_type"`
	CodecName   string `json:"codec_name"`
	PixFmt      string `json:"pix_fmt"`
	Width       int    `json:"width"`
	Height      int    `json:"height"`
	Disposition struct {
		AttachedPic int `json:"attached_pic"`
	} `json:"disposition"`
}

// video is the first real video stream (cover art attached to an audio file
// does not count).
func (i *probeInfo) video() *probeStream {
	for k := range i.Streams {
		if s := &i.Streams[k]; s.CodecType == "video" && s.Disposition.AttachedPic == 0 {
			return s
		}
	}
	return nil
}

func (i *probeInfo) audio() *probeStream {
	for k := range i.Streams {
		if s := &i.Streams[k]; s.CodecType == "audio" {
			return s
		}
	}
	return nil
}

// playable reports whether the app can play the streams as they are: 8-bit 4:2:0
// H.264 video and AAC audio or none. Anything else is transcoded.
func (i *probeInfo) playable() bool {
	v := i.video()
	if v == nil || v.CodecName != "h264" || (v.PixFmt != "yuv420p" && v.PixFmt != "yuvj420p") {
		return false
	}
	a := i.audio()
	return a == nil || a.CodecName == "aac"
}

func (p *Pipeline) probe(parent context.Context, in string, c container) (*probeInfo, error) {
	ctx, cancel := context.WithTimeout(parent, p.o.Timeout)
	defer cancel()
	cmd := p.command(ctx, p.o.FFprobePath, "-v", "error", "-protocol_whitelist", "file",
		"-format_whitelist", c.demuxer, "-print_format", "json", "-show_streams", "file:"+in)
	var stdout bytes.Buffer
	stderr := &tailBuffer{max: stderrKeep}
	cmd.Stdout, cmd.Stderr = &limitedWriter{w: &stdout, n: 4 << 20}, stderr
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Run(); err != nil {
		return nil, asInvalid(classify(parent, ctx, "probe", err, stderr), errNotVideo)
	}
	var info probeInfo
	if err := json.Unmarshal(stdout.Bytes(), &info); err != nil {
		return nil, errNotVideo
	}
	return &info, nil
}

// run runs ffmpeg with args under the per-run time limit.
func (p *Pipeline) run(parent context.Context, step string, args ...string) error {
	ctx, cancel := context.WithTimeout(parent, p.o.Timeout)
	defer cancel()
	cmd := p.command(ctx, p.o.FFmpegPath, args...)
	stderr := &tailBuffer{max: stderrKeep}
	cmd.Stdout, cmd.Stderr = io.Discard, stderr
	cmd.WaitDelay = 5 * time.Second
	return classify(parent, ctx, step, cmd.Run(), stderr)
}

// inputError is ffmpeg or ffprobe exiting with an error of its own: the input
// is at fault (or, rarely, an encoder), not the machine.
type inputError struct {
	step   string
	detail string
}

func (e *inputError) Error() string { return "videosvc: ffmpeg " + e.step + ": " + e.detail }

// classify turns the outcome of a run under ctx (a child of parent with the
// run's time limit) into: nil; the parent's error when the caller gave up;
// errTooSlow when the run's own time limit ended it; errTooBig when it ran out
// of memory under the limit; an *inputError when the tool exited with another
// error; anything else (the binary could not start) as it is.
func classify(parent, ctx context.Context, step string, err error, stderr *tailBuffer) error {
	if err == nil {
		return nil
	}
	var exit *exec.ExitError
	switch {
	case parent.Err() != nil:
		return parent.Err()
	case ctx.Err() != nil:
		return errTooSlow
	case outOfMemory(stderr.Bytes()):
		return errTooBig
	case errors.As(err, &exit):
		if st, ok := exit.Sys().(syscall.WaitStatus); ok && st.Signaled() {
			return fmt.Errorf("videosvc: ffmpeg %s killed by %v", step, st.Signal())
		}
		return &inputError{step: step, detail: fmt.Sprintf("%v: %s", err, bytes.TrimSpace(stderr.Bytes()))}
	}
	return fmt.Errorf("videosvc: ffmpeg %s: %w", step, err)
}

// outOfMemory reports whether a tool's error output says an allocation
// failed: ffmpeg's ENOMEM message, a decoder's failure to get a frame buffer,
// x264's, or the loader's when the limit is reached while libraries are mapped.
func outOfMemory(stderr []byte) bool {
	for _, s := range []string{"Cannot allocate memory", "get_buffer() failed", "malloc of size", "failed to map segment"} {
		if bytes.Contains(stderr, []byte(s)) {
			return true
		}
	}
	return false
}

// asInvalid maps an input error to the business error invalid, leaving other
// errors as they are.
func asInvalid(err, invalid error) error {
	var ie *inputError
	if errors.As(err, &ie) {
		return invalid
	}
	return err
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	max int
	buf []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.buf = append(t.buf, p...)
	if len(t.buf) > t.max {
		t.buf = append(t.buf[:0], t.buf[len(t.buf)-t.max:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) Bytes() []byte { return t.buf }

// limitedWriter fails once more than n bytes were written, so a hostile file
// cannot make ffprobe's report fill memory.
type limitedWriter struct {
	w io.Writer
	n int64
}

func (l *limitedWriter) Write(p []byte) (int, error) {
	if int64(len(p)) > l.n {
		return 0, errors.New("videosvc: ffprobe output too large")
	}
	l.n -= int64(len(p))
	return l.w.Write(p)
}

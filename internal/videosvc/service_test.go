package videosvc_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloudwego/kitex/server"

	"github.com/mdouyin/mdouyin/internal/errs"
	"github.com/mdouyin/mdouyin/internal/platform/blob"
	"github.com/mdouyin/mdouyin/internal/platform/db"
	"github.com/mdouyin/mdouyin/internal/platform/idgen"
	"github.com/mdouyin/mdouyin/internal/platform/outbox"
	"github.com/mdouyin/mdouyin/internal/platform/rpc"
	"github.com/mdouyin/mdouyin/internal/platform/svctest"
	"github.com/mdouyin/mdouyin/internal/videosvc"
	"github.com/mdouyin/mdouyin/kitex_gen/base"
	"github.com/mdouyin/mdouyin/kitex_gen/video"
	"github.com/mdouyin/mdouyin/kitex_gen/video/videoservice"
)

// placement builds the video service under test and returns the interface callers
// use: the Go implementation itself, or a Kitex client of a real server on loopback.
type placement func(t *testing.T, svc *videosvc.Service) video.VideoService

var placements = map[string]placement{
	"direct": func(t *testing.T, svc *videosvc.Service) video.VideoService { return svc },
	"kitex":  viaKitex,
}

func viaKitex(t *testing.T, svc *videosvc.Service) video.VideoService {
	t.Helper()
	addr := svctest.ServeKitex(t, "video", func(o []server.Option) server.Server { return videoservice.NewServer(svc, o...) })
	c, err := videoservice.NewClient("video", rpc.ClientOptions("video", []string{addr}, 10*time.Second)...)
	if err != nil {
		t.Fatal(err)
	}
	return videosvc.NewRemote(c)
}

// databases opens an empty database for the service on each engine under test.
var databases = svctest.Databases("videosvc")

// clips are test inputs generated once per run with ffmpeg.
type clips struct {
	dir string
	err error
}

var (
	clipsOnce sync.Once
	testClips clips
)

// needFFmpeg skips without ffmpeg locally and fails without it in CI.
func needFFmpeg(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("ffmpeg is required in CI: apt-get install ffmpeg")
		}
		t.Skip("ffmpeg not installed")
	}
}

// clip returns the path of a generated input: ok.mp4 (H.264/AAC), hevc.mp4,
// vp9.webm, scene.mp4 (a cut after one second), trunc.mp4 (index first, data cut
// short), fake.mp4 (an MP4 header and noise), random.bin, empty.mp4.
func clip(t *testing.T, name string) string {
	t.Helper()
	needFFmpeg(t)
	clipsOnce.Do(func() { testClips = makeClips() })
	if testClips.err != nil {
		t.Fatal(testClips.err)
	}
	return filepath.Join(testClips.dir, name)
}

func makeClips() clips {
	dir, err := os.MkdirTemp("", "videosvc-clips-*")
	if err != nil {
		return clips{err: err}
	}
	src := []string{"-f", "lavfi", "-i", "testsrc=duration=2:size=320x240:rate=25", "-f", "lavfi", "-i", "sine=duration=2"}
	runs := map[string][]string{
		"ok.mp4":   append(slices.Clone(src), "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest"),
		"hevc.mp4": append(slices.Clone(src), "-c:v", "libx265", "-x265-params", "log-level=error", "-c:a", "aac", "-shortest"),
		"vp9.webm": append(slices.Clone(src), "-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8", "-c:a", "libopus", "-shortest"),
		"scene.mp4": {"-f", "lavfi", "-i", "testsrc=duration=1:size=320x240:rate=25[a];color=c=red:size=320x240:duration=1:rate=25[b];[a][b]concat=n=2:v=1",
			"-c:v", "libx264", "-g", "25", "-pix_fmt", "yuv420p"},
		"fs.mp4": append(slices.Clone(src), "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", "-movflags", "+faststart"),
	}
	for name, args := range runs {
		args = append([]string{"-nostdin", "-v", "error", "-y"}, append(args, filepath.Join(dir, name))...)
		if out, err := exec.Command("ffmpeg", args...).CombinedOutput(); err != nil {
			return clips{err: fmt.Errorf("generate %s: %v: %s", name, err, out)}
		}
	}
	whole, err := os.ReadFile(filepath.Join(dir, "fs.mp4"))
	if err != nil {
		return clips{err: err}
	}
	noise := make([]byte, 20000)
	rand.Read(noise)
	files := map[string][]byte{
		"trunc.mp4":  whole[:len(whole)*6/10],
		"fake.mp4":   append([]byte("\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2"), noise...),
		"random.bin": noise,
		"empty.mp4":  {},
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			return clips{err: err}
		}
	}
	return clips{dir: dir}
}

func TestMain(m *testing.M) {
	code := m.Run()
	if testClips.dir != "" {
		os.RemoveAll(testClips.dir)
	}
	os.Exit(code)
}

type fixture struct {
	api      video.VideoService
	store    *videosvc.SQLStore
	outbox   *outbox.Outbox
	db       *db.DB
	blobs    blob.Store
	blobDir  string
	tempDir  string
	pipeline *videosvc.Pipeline
	ids      *idgen.Generator
}

func newFixture(t *testing.T, d *db.DB, place placement) *fixture {
	t.Helper()
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	// The relay is not run: the tests read the outbox table, not the stream.
	ob := svctest.Outbox(t, d, "video", nil, log)
	store, err := videosvc.NewSQLStore(ctx, d, ob)
	if err != nil {
		t.Fatal(err)
	}
	blobDir := t.TempDir()
	blobs, err := blob.NewLocal(blobDir)
	if err != nil {
		t.Fatal(err)
	}
	// One worker, so the pool-bound test can tell queueing from running.
	pipeline, err := videosvc.NewPipeline(videosvc.PipelineOptions{FFmpegPath: "ffmpeg", FFprobePath: "ffprobe", Workers: 1, Timeout: time.Minute, Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	ids, err := idgen.New(1)
	if err != nil {
		t.Fatal(err)
	}
	tempDir := t.TempDir()
	svc := videosvc.New(store, blobs, pipeline, ids, log, videosvc.Options{TempDir: tempDir, MaxUploadBytes: 50 << 20})
	return &fixture{api: place(t, svc), store: store, outbox: ob, db: d, blobs: blobs, blobDir: blobDir, tempDir: tempDir, pipeline: pipeline, ids: ids}
}

// TestVideoService runs the whole suite on every database and in every placement.
func TestVideoService(t *testing.T) {
	for dbName, open := range databases {
		for pName, place := range placements {
			t.Run(dbName+"/"+pName, func(t *testing.T) {
				needFFmpeg(t)
				f := newFixture(t, open(t), place)
				t.Run("publish a valid clip", f.testPublish)
				t.Run("transcode what the app cannot play", f.testTranscode)
				t.Run("refused files leave nothing behind", f.testRefused)
				t.Run("bad requests change nothing", f.testBadRequests)
				t.Run("concurrent uploads queue for one worker", f.testPoolBound)
				t.Run("publish list paging", f.testListByAuthor)
				t.Run("batch lookups", f.testBatches)
			})
		}
	}
}

// TestFeedPaging checks the timeline's paging on both databases, at the store's
// level of detail: many videos in one millisecond across page boundaries.
func TestFeedPaging(t *testing.T) {
	for dbName, open := range databases {
		for pName, place := range placements {
			t.Run(dbName+"/"+pName, func(t *testing.T) {
				needFFmpeg(t)
				f := newFixture(t, open(t), place)
				f.testFeedPaging(t)
			})
		}
	}
}

// stage puts a local file into blob storage as the gateway does.
func (f *fixture) stage(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	key := videosvc.UploadPrefix + fmt.Sprintf("test-%d", time.Now().UnixNano())
	if _, err := f.blobs.Put(context.Background(), key, bytes.NewReader(b), ""); err != nil {
		t.Fatal(err)
	}
	return key
}

func (f *fixture) publish(t *testing.T, author int64, title, path string) (*video.PublishResponse, error) {
	t.Helper()
	return f.api.Publish(context.Background(), &video.PublishRequest{UserId: author, Title: title, UploadKey: f.stage(t, path)})
}

func (f *fixture) newID(t *testing.T) int64 {
	t.Helper()
	id, err := f.ids.Next()
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// objects lists the blob store's objects (its own temporary directory aside).
func (f *fixture) objects(t *testing.T) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(f.blobDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == ".tmp" {
			return filepath.SkipDir
		}
		if !d.IsDir() {
			rel, _ := filepath.Rel(f.blobDir, p)
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

func (f *fixture) rows(t *testing.T) int {
	t.Helper()
	var n int
	if err := f.db.QueryRowContext(context.Background(), "SELECT COUNT(*) FROM videos").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func (f *fixture) pending(t *testing.T) int {
	t.Helper()
	n, err := f.outbox.Pending(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func (f *fixture) assertTempEmpty(t *testing.T) {
	t.Helper()
	entries, err := os.ReadDir(f.tempDir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 0 {
		t.Fatalf("temporary directory holds %d entries after publishing, e.g. %s", len(entries), entries[0].Name())
	}
}

// codecs reads a stored object into a file and asks ffprobe for its stream codecs.
func (f *fixture) codecs(t *testing.T, key string) string {
	t.Helper()
	obj, err := f.blobs.Open(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	defer obj.Close()
	p := filepath.Join(t.TempDir(), "probe.mp4")
	out, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, obj); err != nil {
		t.Fatal(err)
	}
	out.Close()
	res, err := exec.Command("ffprobe", "-v", "error", "-show_entries", "stream=codec_name", "-of", "csv=p=0", p).Output()
	if err != nil {
		t.Fatalf("ffprobe on stored %s: %v", key, err)
	}
	return strings.Join(strings.Fields(string(res)), ",")
}

func (f *fixture) testPublish(t *testing.T) {
	ctx := context.Background()
	author := f.newID(t)
	before := f.pending(t)
	r, err := f.publish(t, author, "第一个视频 first", clip(t, "ok.mp4"))
	if err != nil {
		t.Fatal(err)
	}
	v := r.GetVideo()
	if !idgen.Valid(v.Id) || v.AuthorId != author || v.Title != "第一个视频 first" {
		t.Fatalf("published %+v", v)
	}
	if ms := time.Now().UnixMilli() - v.CreateTime; ms < 0 || ms > 60_000 {
		t.Fatalf("create_time %d is not now", v.CreateTime)
	}
	play, err := f.blobs.Stat(ctx, v.PlayKey)
	if err != nil || play.ContentType != "video/mp4" || !strings.HasPrefix(v.PlayKey, "videos/") {
		t.Fatalf("play object %q: %+v, %v", v.PlayKey, play, err)
	}
	cover, err := f.blobs.Stat(ctx, v.CoverKey)
	if err != nil || cover.ContentType != "image/jpeg" || !strings.HasPrefix(v.CoverKey, "covers/") {
		t.Fatalf("cover object %q: %+v, %v", v.CoverKey, cover, err)
	}
	obj, err := f.blobs.Open(ctx, v.CoverKey)
	if err != nil {
		t.Fatal(err)
	}
	head := make([]byte, 3)
	io.ReadFull(obj, head)
	obj.Close()
	if !bytes.Equal(head, []byte{0xFF, 0xD8, 0xFF}) {
		t.Fatalf("cover is not a JPEG: % x", head)
	}
	if got := f.codecs(t, v.PlayKey); got != "h264,aac" {
		t.Fatalf("playable file has streams %s, want h264,aac", got)
	}
	for _, o := range f.objects(t) {
		if strings.HasPrefix(o, "uploads/") {
			t.Fatalf("staged upload %s left behind", o)
		}
	}
	f.assertTempEmpty(t)
	if got := f.pending(t); got != before+1 {
		t.Fatalf("outbox holds %d events, want %d", got, before+1)
	}

	// It is in the author's list, in the feed, and counted.
	list, err := f.api.ListByAuthor(ctx, &video.ListByAuthorRequest{AuthorId: author})
	if err != nil || len(list.Videos) != 1 || list.Videos[0].Id != v.Id || list.Page.HasMore {
		t.Fatalf("publish list: %+v, %v", list, err)
	}
	feed, err := f.api.Feed(ctx, &video.FeedRequest{})
	if err != nil || len(feed.Videos) == 0 || feed.Videos[0].Id != v.Id || feed.NextTime != feed.Videos[len(feed.Videos)-1].CreateTime {
		t.Fatalf("feed: %+v, %v", feed, err)
	}
	wc, err := f.api.WorkCounts(ctx, &video.WorkCountsRequest{UserIds: []int64{author}})
	if err != nil || wc.Counts[author] != 1 {
		t.Fatalf("work count: %+v, %v", wc, err)
	}

	// The same bytes again share the stored media and count as a second video.
	r2, err := f.publish(t, author, "again", clip(t, "ok.mp4"))
	if err != nil {
		t.Fatal(err)
	}
	if r2.Video.PlayKey != v.PlayKey || r2.Video.CoverKey != v.CoverKey || r2.Video.Id == v.Id {
		t.Fatalf("second publish of the same file: %+v vs %+v", r2.Video, v)
	}
	wc, _ = f.api.WorkCounts(ctx, &video.WorkCountsRequest{UserIds: []int64{author}})
	if wc.Counts[author] != 2 {
		t.Fatalf("work count after two videos: %d", wc.Counts[author])
	}

	// A video with a cut gets a cover too (the scene-change frame).
	if _, err := f.publish(t, author, "scene", clip(t, "scene.mp4")); err != nil {
		t.Fatal(err)
	}
	f.assertTempEmpty(t)
}

func (f *fixture) testTranscode(t *testing.T) {
	author := f.newID(t)
	for _, name := range []string{"hevc.mp4", "vp9.webm"} {
		r, err := f.publish(t, author, name, clip(t, name))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		got := f.codecs(t, r.Video.PlayKey)
		if got != "h264,aac" {
			t.Fatalf("%s was stored with streams %s, want h264,aac", name, got)
		}
	}
	f.assertTempEmpty(t)
}

func (f *fixture) testRefused(t *testing.T) {
	author := f.newID(t)
	objects, rows, pending := f.objects(t), f.rows(t), f.pending(t)
	for name, code := range map[string]base.ErrCode{
		"fake.mp4":   base.ErrCode_VideoFileInvalid,
		"trunc.mp4":  base.ErrCode_VideoFileInvalid,
		"random.bin": base.ErrCode_VideoFileInvalid,
		"empty.mp4":  base.ErrCode_VideoFileInvalid,
	} {
		_, err := f.publish(t, author, "bad "+name, clip(t, name))
		if errs.CodeOf(err) != code {
			t.Errorf("%s: error %v, want code %v", name, err, code)
		}
	}
	if got := f.objects(t); !slices.Equal(got, objects) {
		t.Fatalf("refused uploads changed the stored objects:\nbefore %v\nafter  %v", objects, got)
	}
	if f.rows(t) != rows || f.pending(t) != pending {
		t.Fatal("a refused upload wrote a row or an event")
	}
	f.assertTempEmpty(t)
	wc, _ := f.api.WorkCounts(context.Background(), &video.WorkCountsRequest{UserIds: []int64{author}})
	if wc.Counts[author] != 0 {
		t.Fatalf("refused uploads counted: %d", wc.Counts[author])
	}
}

func (f *fixture) testBadRequests(t *testing.T) {
	ctx := context.Background()
	author := f.newID(t)
	rows := f.rows(t)
	ok := clip(t, "ok.mp4")
	for _, tc := range []struct {
		title string
		code  base.ErrCode
	}{
		{"", base.ErrCode_VideoTitleInvalid},
		{"   ", base.ErrCode_VideoTitleInvalid},
		{"\u200b\u200b", base.ErrCode_VideoTitleInvalid},
		{"\u3164\u2800\ufe0f", base.ErrCode_VideoTitleInvalid},
		{strings.Repeat("长", 101), base.ErrCode_VideoTitleInvalid},
		{"bad\xffutf8", base.ErrCode_VideoTitleInvalid},
		{"line\nbreak", base.ErrCode_VideoTitleInvalid},
	} {
		_, err := f.publish(t, author, tc.title, ok)
		svctest.WantCode(t, err, tc.code)
	}
	if _, err := f.publish(t, author, strings.Repeat("长", 100), ok); err != nil {
		t.Fatalf("a 100-character title was refused: %v", err)
	}
	rows++
	_, err := f.api.Publish(ctx, &video.PublishRequest{UserId: author, Title: "t", UploadKey: "videos/aa/bb/x.mp4"})
	svctest.WantCode(t, err, base.ErrCode_InvalidArgument)
	_, err = f.api.Publish(ctx, &video.PublishRequest{UserId: author, Title: "t", UploadKey: videosvc.UploadPrefix + "missing"})
	svctest.WantCode(t, err, base.ErrCode_InvalidArgument)
	_, err = f.api.Publish(ctx, &video.PublishRequest{UserId: author, Title: "t", UploadKey: videosvc.UploadPrefix + "../x"})
	svctest.WantCode(t, err, base.ErrCode_InvalidArgument)
	_, err = f.api.Publish(ctx, &video.PublishRequest{UserId: 0, Title: "t", UploadKey: f.stage(t, ok)})
	svctest.WantCode(t, err, base.ErrCode_InvalidArgument)
	if f.rows(t) != rows {
		t.Fatal("a bad request wrote a row")
	}
	for _, o := range f.objects(t) {
		if strings.HasPrefix(o, "uploads/") {
			t.Fatalf("staged upload %s left behind", o)
		}
	}
	_, err = f.api.Feed(ctx, &video.FeedRequest{Type: "nope"})
	svctest.WantCode(t, err, base.ErrCode_InvalidArgument)
	_, err = f.api.Feed(ctx, &video.FeedRequest{LatestTime: -1})
	svctest.WantCode(t, err, base.ErrCode_InvalidArgument)
	_, err = f.api.Feed(ctx, &video.FeedRequest{Cursor: "x"})
	svctest.WantCode(t, err, base.ErrCode_InvalidArgument)
	_, err = f.api.ListByAuthor(ctx, &video.ListByAuthorRequest{AuthorId: -5})
	svctest.WantCode(t, err, base.ErrCode_InvalidArgument)
	_, err = f.api.ListByAuthor(ctx, &video.ListByAuthorRequest{AuthorId: author, Page: &base.Page{Cursor: "1.x"}})
	svctest.WantCode(t, err, base.ErrCode_InvalidArgument)
	_, err = f.api.GetVideos(ctx, &video.GetVideosRequest{VideoIds: []int64{1 << 53}})
	svctest.WantCode(t, err, base.ErrCode_InvalidArgument)
	_, err = f.api.WorkCounts(ctx, &video.WorkCountsRequest{UserIds: make([]int64, videosvc.MaxBatch+1)})
	svctest.WantCode(t, err, base.ErrCode_InvalidArgument)
}

func (f *fixture) testPoolBound(t *testing.T) {
	const n = 4
	author := f.newID(t)
	keys := make([]string, n)
	for i := range keys {
		keys[i] = f.stage(t, clip(t, "hevc.mp4"))
	}
	var wg sync.WaitGroup
	errc := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			_, err := f.api.Publish(context.Background(), &video.PublishRequest{UserId: author, Title: fmt.Sprint("q", i), UploadKey: keys[i]})
			errc <- err
		})
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		if err != nil {
			t.Fatalf("a queued upload failed: %v", err)
		}
	}
	wc, _ := f.api.WorkCounts(context.Background(), &video.WorkCountsRequest{UserIds: []int64{author}})
	if wc.Counts[author] != n {
		t.Fatalf("%d of %d uploads published", wc.Counts[author], n)
	}
	if p := f.pipeline.PeakInFlight(); p != 1 {
		t.Fatalf("peak concurrent ffmpeg jobs = %d with one worker", p)
	}
	if f.pipeline.InFlight() != 0 || f.pipeline.Queued() != 0 {
		t.Fatalf("jobs left: %d running, %d queued", f.pipeline.InFlight(), f.pipeline.Queued())
	}
	f.assertTempEmpty(t)
}

// insert writes a video straight through the store.
func (f *fixture) insert(t *testing.T, author, ms int64) *videosvc.Video {
	t.Helper()
	v := &videosvc.Video{ID: f.newID(t), AuthorID: author, Title: "v", PlayKey: "videos/x.mp4", CoverKey: "covers/x.jpg", CreateTime: ms}
	if err := f.store.Create(context.Background(), v); err != nil {
		t.Fatal(err)
	}
	return v
}

func (f *fixture) testListByAuthor(t *testing.T) {
	ctx := context.Background()
	author, other := f.newID(t), f.newID(t)
	base0 := time.Now().Add(-time.Hour).UnixMilli()
	var want []int64
	for i := range 25 {
		// Pairs share a millisecond, so pages end inside one.
		want = append(want, f.insert(t, author, base0+int64(i/2)).ID)
		f.insert(t, other, base0+int64(i))
	}
	slices.Reverse(want)
	var got []int64
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > 10 {
			t.Fatal("publish list does not end")
		}
		r, err := f.api.ListByAuthor(ctx, &video.ListByAuthorRequest{AuthorId: author, Page: &base.Page{Count: 7, Cursor: cursor}})
		if err != nil {
			t.Fatal(err)
		}
		if len(r.Videos) > 7 {
			t.Fatalf("page of %d videos, asked for 7", len(r.Videos))
		}
		for _, v := range r.Videos {
			if v.AuthorId != author {
				t.Fatalf("another author's video %d in the list", v.Id)
			}
			got = append(got, v.Id)
		}
		if !r.Page.HasMore {
			if r.Page.NextCursor != "" {
				t.Fatalf("last page has a cursor %q", r.Page.NextCursor)
			}
			break
		}
		cursor = r.Page.NextCursor
	}
	// Newest first: by time, then by id within a millisecond.
	byTime := slices.Clone(want)
	if !slices.Equal(got, byTime) {
		t.Fatalf("publish list order\n got %v\nwant %v", got, byTime)
	}
	r, err := f.api.ListByAuthor(ctx, &video.ListByAuthorRequest{AuthorId: f.newID(t)})
	if err != nil || len(r.Videos) != 0 || r.Videos == nil || r.Page.HasMore {
		t.Fatalf("list of a user without videos: %+v, %v", r, err)
	}
}

func (f *fixture) testBatches(t *testing.T) {
	ctx := context.Background()
	a, b := f.newID(t), f.newID(t)
	v1 := f.insert(t, a, time.Now().Add(-2*time.Hour).UnixMilli())
	v2 := f.insert(t, a, time.Now().Add(-2*time.Hour).UnixMilli())
	missing := f.newID(t)
	r, err := f.api.GetVideos(ctx, &video.GetVideosRequest{VideoIds: []int64{v1.ID, missing, v2.ID, v1.ID}})
	if err != nil || len(r.Videos) != 2 || r.Videos[v1.ID].Title != "v" || r.Videos[v2.ID].AuthorId != a {
		t.Fatalf("GetVideos: %+v, %v", r, err)
	}
	wc, err := f.api.WorkCounts(ctx, &video.WorkCountsRequest{UserIds: []int64{a, b}})
	if err != nil || wc.Counts[a] != 2 || wc.Counts[b] != 0 || len(wc.Counts) != 2 {
		t.Fatalf("WorkCounts: %+v, %v", wc, err)
	}
}

func (f *fixture) testFeedPaging(t *testing.T) {
	ctx := context.Background()
	author := f.newID(t)
	// 100 videos: 45 in one millisecond (spanning the first page boundary), the
	// rest one per millisecond before and after; and one in the future.
	t0 := time.Now().Add(-time.Hour).UnixMilli()
	var all []*videosvc.Video
	for i := range 20 {
		all = append(all, f.insert(t, author, t0-100+int64(i)))
	}
	for range 45 {
		all = append(all, f.insert(t, author, t0))
	}
	for i := range 35 {
		all = append(all, f.insert(t, author, t0+1+int64(i)))
	}
	future := f.insert(t, author, time.Now().Add(time.Hour).UnixMilli())
	slices.SortFunc(all, func(x, y *videosvc.Video) int {
		if x.CreateTime != y.CreateTime {
			return int(y.CreateTime - x.CreateTime)
		}
		return int(y.ID - x.ID)
	})

	// Paging by next_time alone, as the app does, shows every video once, in order.
	var got []int64
	latest := t0 + 1000
	for pages := 0; ; pages++ {
		if pages > 20 {
			t.Fatal("the feed does not end")
		}
		r, err := f.api.Feed(ctx, &video.FeedRequest{LatestTime: latest})
		if err != nil {
			t.Fatal(err)
		}
		if len(r.Videos) == 0 {
			if r.NextTime != latest {
				t.Fatalf("empty page answers next_time %d, want the latest_time %d", r.NextTime, latest)
			}
			break
		}
		for _, v := range r.Videos {
			if v.CreateTime >= latest {
				t.Fatalf("video at %d is not before latest_time %d", v.CreateTime, latest)
			}
			got = append(got, v.Id)
		}
		last := r.Videos[len(r.Videos)-1]
		if r.NextTime != last.CreateTime {
			t.Fatalf("next_time %d, want the oldest video's %d", r.NextTime, last.CreateTime)
		}
		latest = r.NextTime
	}
	var want []int64
	for _, v := range all {
		want = append(want, v.ID)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("feed paging showed %d videos, want %d, in order without repeats", len(got), len(want))
	}

	// A page that would end inside a millisecond takes the rest of it: from just
	// after t0+5, 5 single videos and then all 45 of t0, though 30 were asked.
	r, err := f.api.Feed(ctx, &video.FeedRequest{LatestTime: t0 + 1 + 5})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Videos) != 5+45 {
		t.Fatalf("a page ending in a shared millisecond has %d videos, want 50", len(r.Videos))
	}

	// latest_time 0 is now: the future video is not shown, the newest past one is.
	r, err = f.api.Feed(ctx, &video.FeedRequest{})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range r.Videos {
		if v.Id == future.ID {
			t.Fatal("a video from the future is in the feed")
		}
	}

	// The cursor continues exactly within a millisecond.
	r, err = f.api.Feed(ctx, &video.FeedRequest{LatestTime: t0, Cursor: fmt.Sprint(all[35+10].ID), Count: 5})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Videos) == 0 || r.Videos[0].Id != all[35+11].ID {
		t.Fatalf("cursor page starts with %v, want %d", r.Videos, all[35+11].ID)
	}
}

// failingCreate is a store whose Create fails, as a database outage at the last
// step of a publish would.
type failingCreate struct{ videosvc.Store }

func (failingCreate) Create(context.Context, *videosvc.Video) error {
	return fmt.Errorf("database is down")
}

// TestFailedCommitRemovesMedia checks that media written for a publish whose row
// could not be committed is deleted, unless a committed video shares it.
func TestFailedCommitRemovesMedia(t *testing.T) {
	needFFmpeg(t)
	f := newFixture(t, databases["sqlite"](t), placements["direct"])
	author := f.newID(t)
	shared, err := f.publish(t, author, "kept", clip(t, "ok.mp4"))
	if err != nil {
		t.Fatal(err)
	}
	objects := f.objects(t)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	broken := videosvc.New(failingCreate{f.store}, f.blobs, f.pipeline, f.ids, log, videosvc.Options{TempDir: f.tempDir})
	for _, name := range []string{"hevc.mp4", "ok.mp4"} {
		_, err := broken.Publish(context.Background(), &video.PublishRequest{UserId: author, Title: "lost", UploadKey: f.stage(t, clip(t, name))})
		if err == nil || errs.CodeOf(err) != base.ErrCode_Internal {
			t.Fatalf("%s: publish over a failing store answered %v", name, err)
		}
		if got := f.objects(t); !slices.Equal(got, objects) {
			t.Fatalf("%s: a failed commit changed the stored objects:\nbefore %v\nafter  %v", name, objects, got)
		}
	}
	if _, err := f.blobs.Stat(context.Background(), shared.Video.PlayKey); err != nil {
		t.Fatalf("media of a committed video was deleted: %v", err)
	}
	f.assertTempEmpty(t)
}

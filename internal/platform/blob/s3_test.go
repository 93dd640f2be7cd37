package blob

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/mdouyin/mdouyin/internal/platform/blob/s3test"
)

// s3Server is one running test server.
type s3Server struct{ endpoint, access, secret string }

func startS3(t *testing.T) s3Server {
	t.Helper()
	e, a, s := s3test.Start(t)
	return s3Server{e, a, s}
}

// store opens a store on the server; edit adjusts the default options.
func (srv s3Server) store(t *testing.T, edit func(*S3Options)) *S3 {
	t.Helper()
	o := S3Options{Endpoint: srv.endpoint, AccessKey: srv.access, SecretKey: srv.secret, Bucket: "media", Region: "us-east-1"}
	if edit != nil {
		edit(&o)
	}
	s, err := NewS3(t.Context(), o)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// raw is a plain client, to look at the bucket behind the store's back.
func (srv s3Server) raw(t *testing.T) *minio.Client {
	t.Helper()
	c, err := minio.New(srv.endpoint, &minio.Options{Creds: credentials.NewStaticV4(srv.access, srv.secret, ""), Region: "us-east-1"})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestS3(t *testing.T) {
	testStore(t, startS3(t).store(t, nil))
}

func TestS3WithPrefix(t *testing.T) {
	srv := startS3(t)
	s := srv.store(t, func(o *S3Options) { o.Prefix = "/deploy-a/" })
	testStore(t, s)

	// Objects live under the prefix, and another prefix does not see them.
	put(t, s, "only/here", []byte("a"))
	if _, err := srv.raw(t).StatObject(t.Context(), "media", "deploy-a/only/here", minio.StatObjectOptions{}); err != nil {
		t.Fatalf("object not under the prefix: %v", err)
	}
	other := srv.store(t, func(o *S3Options) { o.Prefix = "deploy-b" })
	if _, err := other.Stat(t.Context(), "only/here"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("another prefix sees the object: %v", err)
	}
	// The prefix counts towards S3's key length limit.
	long := strings.Repeat("s", 255) + "/" + strings.Repeat("t", 255) + "/" + strings.Repeat("u", 255) + "/" + strings.Repeat("v", 255)
	if _, err := s.Put(t.Context(), long, strings.NewReader("x"), ""); !errors.Is(err, ErrInvalidKey) {
		t.Fatalf("a key too long with its prefix: %v, want ErrInvalidKey", err)
	}
}

// TestS3MultipartPut streams an object of several parts that is never whole
// in memory, and checks the heap does not grow with its size.
func TestS3MultipartPut(t *testing.T) {
	s := startS3(t).store(t, nil)
	ctx := t.Context()
	const size = 100 << 20

	src := &patternReader{size: size}
	var before, peak runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	peakInuse := before.HeapInuse
	src.every = func() {
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		peakInuse = max(peakInuse, m.HeapInuse)
		peak = m
	}
	info, err := s.Put(ctx, "big/video.mp4", src, "")
	if err != nil {
		t.Fatal(err)
	}
	growth := int64(peakInuse) - int64(before.HeapInuse)
	t.Logf("100 MiB Put: peak heap in use grew by %.1f MiB; %.1f MiB allocated in all", float64(growth)/(1<<20), float64(peak.TotalAlloc-before.TotalAlloc)/(1<<20))
	if growth > 64<<20 {
		t.Errorf("heap grew by %d MiB during a streamed Put, want it bounded by the part size", growth>>20)
	}

	wantParts := (size + s3PartSize - 1) / s3PartSize
	if info.Size != size || info.ContentType != "video/mp4" || !strings.HasSuffix(info.ETag, fmt.Sprintf("-%d", wantParts)) {
		t.Fatalf("Put returned %+v, want %d bytes in %d parts", info, size, wantParts)
	}
	st, err := s.Stat(ctx, "big/video.mp4")
	if err != nil || st.ETag != info.ETag || st.Size != size {
		t.Fatalf("Stat = %+v, %v; want Put's %+v", st, err, info)
	}

	o, err := s.Open(ctx, "big/video.mp4")
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	h := sha256.New()
	if n, err := io.Copy(h, o); err != nil || n != size {
		t.Fatalf("read back %d bytes, %v", n, err)
	}
	if got, want := h.Sum(nil), (&patternReader{size: size}).sum(); !bytes.Equal(got, want) {
		t.Fatal("the bytes read back differ from the bytes written")
	}

	// Content that ends exactly at a part boundary needs no empty last part.
	exact, err := s.Put(ctx, "big/exact", &patternReader{size: 2 * s3PartSize}, "")
	if err != nil || exact.Size != 2*s3PartSize || !strings.HasSuffix(exact.ETag, "-2") {
		t.Fatalf("two whole parts: %+v, %v", exact, err)
	}
}

func TestS3CancelledMultipartPutIsAborted(t *testing.T) {
	srv := startS3(t)
	s := srv.store(t, nil)
	ctx, cancel := context.WithCancel(t.Context())
	src := &patternReader{size: 5 * s3PartSize}
	src.every = func() {
		if src.off >= 2*s3PartSize {
			cancel()
		}
	}
	if _, err := s.Put(ctx, "big/cancelled", src, ""); !errors.Is(err, context.Canceled) {
		t.Fatalf("Put: %v, want context.Canceled", err)
	}
	if _, err := s.Stat(t.Context(), "big/cancelled"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Stat after a cancelled Put: %v, want ErrNotFound", err)
	}
	for u := range srv.raw(t).ListIncompleteUploads(t.Context(), "media", "big/", true) {
		if u.Err != nil {
			t.Fatal(u.Err)
		}
		t.Errorf("upload %s of %q left behind", u.UploadID, u.Key)
	}
}

// TestS3OpenPinsVersion overwrites an object between Open and a Seek: the
// read after the Seek fails instead of returning the new version's bytes.
func TestS3OpenPinsVersion(t *testing.T) {
	s := startS3(t).store(t, nil)
	ctx := t.Context()
	v1, v2 := bytes.Repeat([]byte{1}, 4096), bytes.Repeat([]byte{2}, 4096)
	put(t, s, "v", v1)
	o, err := s.Open(ctx, "v")
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	put(t, s, "v", v2)
	if _, err := o.Seek(100, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 10)
	n, err := io.ReadFull(o, buf)
	if err == nil || minio.ToErrorResponse(errors.Unwrap(err)).StatusCode != http.StatusPreconditionFailed {
		t.Fatalf("read %v, %v after the object changed; want a failed precondition", buf[:n], err)
	}
}

func TestS3PresignedURL(t *testing.T) {
	s := startS3(t).store(t, nil)
	data := randomBytes(t, 100<<10)
	put(t, s, "videos/p v.mp4", data)
	u, err := s.URL(t.Context(), "videos/p v.mp4")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(u, "X-Amz-Signature=") || !strings.Contains(u, "X-Amz-Expires=86400") {
		t.Fatalf("URL %q is not presigned for 24h", u)
	}
	// A presigned URL is handed out again while it has more than half its
	// lifetime left; another object gets its own.
	if again, err := s.URL(t.Context(), "videos/p v.mp4"); err != nil || again != u {
		t.Fatalf("second URL of the object = %q, %v; want the first one, %q", again, err, u)
	}
	put(t, s, "videos/other.mp4", data)
	if other, err := s.URL(t.Context(), "videos/other.mp4"); err != nil || other == u || !strings.Contains(other, "other.mp4") {
		t.Fatalf("URL of another object = %q, %v", other, err)
	}

	status, body := fetch(t, u, "")
	if status != http.StatusOK || !bytes.Equal(body, data) {
		t.Fatalf("GET presigned URL: %d with %d bytes, want 200 with the %d stored", status, len(body), len(data))
	}
	// Objects never change under their keys, and say so to clients.
	got, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	got.Body.Close()
	if cc := got.Header.Get("Cache-Control"); !strings.Contains(cc, "immutable") {
		t.Fatalf("Cache-Control of a stored object = %q", cc)
	}
	status, body = fetch(t, u, "bytes=1000-1999")
	if status != http.StatusPartialContent || !bytes.Equal(body, data[1000:2000]) {
		t.Fatalf("ranged GET: %d with %d bytes, want 206 with bytes 1000-1999", status, len(body))
	}
	// Without the signature the private bucket refuses.
	if status, _ := fetch(t, u[:strings.IndexByte(u, '?')], ""); status != http.StatusForbidden {
		t.Fatalf("unsigned GET: %d, want 403", status)
	}
	if _, err := s.URL(t.Context(), "../x"); !errors.Is(err, ErrInvalidKey) {
		t.Fatalf("URL of a hostile key: %v, want ErrInvalidKey", err)
	}
}

// TestS3PresignExpires asks until the server refuses a URL presigned for one
// second; the deadline is generous, the refusal is what is tested.
func TestS3PresignExpires(t *testing.T) {
	s := startS3(t).store(t, func(o *S3Options) { o.Presign = time.Second })
	put(t, s, "short", []byte("lived"))
	u, err := s.URL(t.Context(), "short")
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		status, body := fetch(t, u, "")
		if status != http.StatusOK {
			if status != http.StatusForbidden || !strings.Contains(strings.ToLower(string(body)), "expired") {
				t.Fatalf("expired URL: %d %s, want 403 saying it expired", status, body)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("a URL presigned for 1s still works after 30s")
		}
		time.Sleep(100 * time.Millisecond) // polling the server's clock, not synchronising
	}
}

func TestS3PublicURL(t *testing.T) {
	srv := startS3(t)
	s := srv.store(t, func(o *S3Options) {
		o.PublicBaseURL = "https://cdn.example.com/m/"
		o.Prefix = "p"
	})
	u, err := s.URL(t.Context(), "videos/a b#?.mp4")
	if err != nil {
		t.Fatal(err)
	}
	if want := "https://cdn.example.com/m/p/videos/a%20b%23%3F.mp4"; u != want {
		t.Fatalf("URL = %q, want %q", u, want)
	}

	// Against the server: a bucket made public serves the URL unsigned.
	pub := srv.store(t, func(o *S3Options) {
		o.Bucket = "public"
		o.PublicBaseURL = "http://" + srv.endpoint + "/public"
	})
	policy := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":["s3:GetObject"],"Resource":["arn:aws:s3:::public/*"]}]}`
	if err := srv.raw(t).SetBucketPolicy(t.Context(), "public", policy); err != nil {
		t.Fatal(err)
	}
	put(t, pub, "covers/c.jpg", []byte("jpeg bytes"))
	u, err = pub.URL(t.Context(), "covers/c.jpg")
	if err != nil {
		t.Fatal(err)
	}
	if status, body := fetch(t, u, ""); status != http.StatusOK || string(body) != "jpeg bytes" {
		t.Fatalf("GET %s: %d %q", u, status, body)
	}
}

func TestS3ETagAgreesWithLocal(t *testing.T) {
	s := startS3(t).store(t, nil)
	l, err := NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if got, want := put(t, s, "h", []byte("hello")).ETag, put(t, l, "h", []byte("hello")).ETag; got != want {
		t.Fatalf("S3 ETag %q, Local %q for the same bytes", got, want)
	}
	var st Store = l
	if _, ok := st.(URLer); ok {
		t.Fatal("Local implements URLer; the gateway would stop serving its files")
	}
}

func TestNewS3(t *testing.T) {
	srv := startS3(t)
	ok := S3Options{Endpoint: srv.endpoint, AccessKey: srv.access, SecretKey: srv.secret, Bucket: "bkt", Region: "us-east-1"}
	for _, tc := range []struct {
		name string
		edit func(*S3Options)
	}{
		{"scheme in endpoint", func(o *S3Options) { o.Endpoint = "http://" + o.Endpoint }},
		{"no bucket", func(o *S3Options) { o.Bucket = "" }},
		{"hostile prefix", func(o *S3Options) { o.Prefix = "a/../b" }},
		{"relative public URL", func(o *S3Options) { o.PublicBaseURL = "cdn.example.com" }},
		{"presign too long", func(o *S3Options) { o.Presign = 8 * 24 * time.Hour }},
		{"wrong secret", func(o *S3Options) { o.SecretKey = "wrong" }},
	} {
		o := ok
		tc.edit(&o)
		if _, err := NewS3(t.Context(), o); err == nil {
			t.Errorf("%s: NewS3 succeeded", tc.name)
		}
	}
	// Two replicas starting at once both get the bucket.
	errs := make(chan error, 2)
	for range 2 {
		go func() { _, err := NewS3(t.Context(), ok); errs <- err }()
	}
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if exists, err := srv.raw(t).BucketExists(t.Context(), "bkt"); err != nil || !exists {
		t.Fatalf("bucket not created: %v, %v", exists, err)
	}
}

// fetch GETs u, with a Range header when rng is set.
func fetch(t *testing.T, u, rng string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rng != "" {
		req.Header.Set("Range", rng)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, body
}

// patternReader yields size bytes of a fixed, position-dependent pattern
// without holding them, calling every (if set) at each MiB.
type patternReader struct {
	size, off int64
	every     func()
}

func (p *patternReader) Read(b []byte) (int, error) {
	if p.off >= p.size {
		return 0, io.EOF
	}
	b = b[:min(int64(len(b)), p.size-p.off, 64<<10)]
	for i := range b {
		o := p.off + int64(i)
		b[i] = byte(o ^ o>>8 ^ o>>16)
	}
	before := p.off
	p.off += int64(len(b))
	if p.every != nil && before>>20 != p.off>>20 {
		p.every()
	}
	return len(b), nil
}

// sum hashes the whole pattern.
func (p *patternReader) sum() []byte {
	h := sha256.New()
	if _, err := io.Copy(h, p); err != nil {
		panic(err)
	}
	return h.Sum(nil)
}

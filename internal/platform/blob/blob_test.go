package blob

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestLocal(t *testing.T) {
	l, err := NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	testStore(t, l)
}

// testStore is the conformance suite every Store implementation passes. The
// subtests share s, each under its own key prefix, so a backend that is slow
// to set up (an S3 bucket) is set up once.
func testStore(t *testing.T, s Store) {
	for _, tc := range []struct {
		name string
		test func(*testing.T, Store, func(string) string)
	}{
		{"RoundTripAndSeek", testRoundTrip},
		{"StatAndETag", testStatETag},
		{"OverwriteIsAtomic", testOverwrite},
		{"ConcurrentPutsSameKey", testConcurrentPuts},
		{"PutFileRemovesSource", testPutFile},
		{"DeleteIsIdempotent", testDelete},
		{"NotFound", testNotFound},
		{"HostileKeysRejected", testHostileKeys},
		{"CancelledPutStoresNothing", testCancelledPut},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.test(t, s, func(key string) string { return tc.name + "/" + key })
		})
	}
}

func testRoundTrip(t *testing.T, s Store, k func(string) string) {
	ctx := t.Context()
	data := randomBytes(t, 1<<20+123)
	info, err := s.Put(ctx, k("videos/a.mp4"), bytes.NewReader(data), "video/mp4")
	if err != nil {
		t.Fatal(err)
	}
	if info.Key != k("videos/a.mp4") || info.Size != int64(len(data)) || info.ContentType != "video/mp4" || info.ETag == "" || info.ModTime.IsZero() {
		t.Fatalf("Put returned %+v", info)
	}

	o, err := s.Open(ctx, k("videos/a.mp4"))
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	if got := o.Info(); got.Size != info.Size || got.ETag != info.ETag || got.ContentType != info.ContentType {
		t.Fatalf("Open's Info %+v differs from Put's %+v", got, info)
	}
	all, err := io.ReadAll(o)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(all, data) {
		t.Fatalf("read back %d bytes that differ from the %d written", len(all), len(data))
	}

	for _, tc := range []struct {
		offset int64
		whence int
		want   int64
	}{
		{100, io.SeekStart, 100},
		{-10, io.SeekEnd, int64(len(data)) - 10},
		{-90, io.SeekCurrent, int64(len(data)) - 90}, // after reading the last 10
	} {
		pos, err := o.Seek(tc.offset, tc.whence)
		if err != nil || pos != tc.want {
			t.Fatalf("Seek(%d, %d) = %d, %v; want %d", tc.offset, tc.whence, pos, err, tc.want)
		}
		buf := make([]byte, 10)
		if _, err := io.ReadFull(o, buf); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(buf, data[pos:pos+10]) {
			t.Fatalf("10 bytes at %d differ", pos)
		}
	}
	if pos, err := o.Seek(0, io.SeekEnd); err != nil || pos != int64(len(data)) {
		t.Fatalf("Seek to end = %d, %v; want %d (the content size, nothing more)", pos, err, len(data))
	}
	if n, err := o.Read(make([]byte, 1)); n != 0 || err != io.EOF {
		t.Fatalf("Read at end = %d, %v; want 0, EOF", n, err)
	}

	empty, err := s.Put(ctx, k("empty"), strings.NewReader(""), "text/plain")
	if err != nil || empty.Size != 0 {
		t.Fatalf("empty object: %+v, %v", empty, err)
	}
	assertContent(t, s, k("empty"), nil)
}

func testStatETag(t *testing.T, s Store, k func(string) string) {
	ctx := t.Context()
	a := randomBytes(t, 4096)
	b := randomBytes(t, 4096)
	put(t, s, k("x/a"), a)
	put(t, s, k("x/a-again"), a)
	put(t, s, k("x/b"), b)

	st1, err := s.Stat(ctx, k("x/a"))
	if err != nil {
		t.Fatal(err)
	}
	st2, err := s.Stat(ctx, k("x/a"))
	if err != nil {
		t.Fatal(err)
	}
	if st1 != st2 {
		t.Fatalf("two Stats differ: %+v vs %+v", st1, st2)
	}
	if st1.Key != k("x/a") || st1.Size != 4096 || st1.ContentType != "application/octet-stream" {
		t.Fatalf("Stat = %+v", st1)
	}
	again, _ := s.Stat(ctx, k("x/a-again"))
	other, _ := s.Stat(ctx, k("x/b"))
	if again.ETag != st1.ETag {
		t.Fatalf("same content, different ETags: %q vs %q", again.ETag, st1.ETag)
	}
	if other.ETag == st1.ETag {
		t.Fatalf("different content, same ETag %q", st1.ETag)
	}

	jpg, err := s.Put(ctx, k("covers/c.jpg"), bytes.NewReader(a), "")
	if err != nil {
		t.Fatal(err)
	}
	if jpg.ContentType != "image/jpeg" {
		t.Fatalf("content type derived from .jpg = %q, want image/jpeg", jpg.ContentType)
	}
	if _, err := s.Put(ctx, k("covers/d.jpg"), bytes.NewReader(a), "image/jpeg\r\nSet-Cookie: x=y"); err == nil {
		t.Fatal("a content type with CRLF was accepted")
	}
}

// testOverwrite rewrites one key while readers check that every object they
// open is exactly one version: its bytes, size and ETag all agree.
func testOverwrite(t *testing.T, s Store, k func(string) string) {
	ctx := t.Context()
	const versions = 20
	version := func(v int) []byte { return bytes.Repeat([]byte{byte(v)}, 64<<10+v*997) }
	etags := make([]string, versions)
	info := put(t, s, k("k"), version(0))
	etags[0] = info.ETag

	stop := make(chan struct{})
	var readers sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		readers.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if err := checkWhole(ctx, s, k("k"), version); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	for v := 1; v < versions; v++ {
		etags[v] = put(t, s, k("k"), version(v)).ETag
	}
	close(stop)
	readers.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	assertContent(t, s, k("k"), version(versions-1))
	if st, _ := s.Stat(ctx, k("k")); st.ETag != etags[versions-1] {
		t.Fatalf("final ETag %q, want the last Put's %q", st.ETag, etags[versions-1])
	}
}

// checkWhole opens key and verifies it is exactly one of version's outputs.
func checkWhole(ctx context.Context, s Store, key string, version func(int) []byte) error {
	o, err := s.Open(ctx, key)
	if err != nil {
		return err
	}
	defer o.Close()
	data, err := io.ReadAll(o)
	if err != nil {
		return err
	}
	if len(data) == 0 {
		return errors.New("read an empty object")
	}
	want := version(int(data[0]))
	if !bytes.Equal(data, want) {
		return fmt.Errorf("read %d bytes, not a whole version %d (%d bytes)", len(data), data[0], len(want))
	}
	if o.Info().Size != int64(len(data)) {
		return fmt.Errorf("Info says %d bytes, read %d", o.Info().Size, len(data))
	}
	return nil
}

func testConcurrentPuts(t *testing.T, s Store, k func(string) string) {
	ctx := t.Context()
	const writers = 8
	contents := make([][]byte, writers)
	for i := range contents {
		contents[i] = randomBytes(t, 256<<10+i)
	}
	infos := make([]Info, writers)
	errs := make([]error, writers)
	var wg sync.WaitGroup
	for i := range writers {
		wg.Go(func() {
			infos[i], errs[i] = s.Put(ctx, k("same/key"), bytes.NewReader(contents[i]), "")
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("writer %d: %v", i, err)
		}
	}
	st, err := s.Stat(ctx, k("same/key"))
	if err != nil {
		t.Fatal(err)
	}
	winner := -1
	for i, info := range infos {
		if info.ETag == st.ETag {
			winner = i
		}
	}
	if winner < 0 {
		t.Fatalf("stored ETag %q matches no writer", st.ETag)
	}
	assertContent(t, s, k("same/key"), contents[winner])
}

func testPutFile(t *testing.T, s Store, k func(string) string) {
	ctx := t.Context()
	data := randomBytes(t, 300<<10)
	src := filepath.Join(t.TempDir(), "upload")
	if err := os.WriteFile(src, data, 0o600); err != nil {
		t.Fatal(err)
	}
	info, err := s.PutFile(ctx, k("videos/f.mp4"), src, "video/mp4")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(src); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("source still there after PutFile: %v", err)
	}
	if info.Size != int64(len(data)) || info.ContentType != "video/mp4" {
		t.Fatalf("PutFile returned %+v", info)
	}
	assertContent(t, s, k("videos/f.mp4"), data)
	viaPut := put(t, s, k("videos/g.mp4"), data)
	if viaPut.ETag != info.ETag {
		t.Fatalf("PutFile ETag %q differs from Put's %q for the same bytes", info.ETag, viaPut.ETag)
	}

	// A rejected key leaves the file where it was.
	if err := os.WriteFile(src, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PutFile(ctx, "../escape", src, ""); !errors.Is(err, ErrInvalidKey) {
		t.Fatalf("PutFile with a hostile key: %v, want ErrInvalidKey", err)
	}
	if _, err := os.Stat(src); err != nil {
		t.Fatalf("source gone after a refused PutFile: %v", err)
	}
	if _, err := s.PutFile(ctx, k("missing"), filepath.Join(t.TempDir(), "nope"), ""); err == nil {
		t.Fatal("PutFile of a missing file succeeded")
	}
}

func testDelete(t *testing.T, s Store, k func(string) string) {
	ctx := t.Context()
	put(t, s, k("d/x"), []byte("x"))
	put(t, s, k("d/y"), []byte("y"))
	for range 2 {
		if err := s.Delete(ctx, k("d/x")); err != nil {
			t.Fatalf("Delete: %v", err)
		}
	}
	if _, err := s.Stat(ctx, k("d/x")); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Stat after Delete: %v, want ErrNotFound", err)
	}
	if err := s.Delete(ctx, k("never/existed")); err != nil {
		t.Fatalf("Delete of a missing key: %v", err)
	}
	if err := s.Delete(ctx, k("d")); err != nil {
		t.Fatalf("Delete of a key that is only a prefix: %v", err)
	}
	assertContent(t, s, k("d/y"), []byte("y"))
}

func testNotFound(t *testing.T, s Store, k func(string) string) {
	ctx := t.Context()
	put(t, s, k("dir/obj"), []byte("o"))
	for _, key := range []string{k("nothing"), k("dir"), k("dir/obj/below"), k("dir/other")} {
		if _, err := s.Open(ctx, key); !errors.Is(err, ErrNotFound) {
			t.Errorf("Open(%q): %v, want ErrNotFound", key, err)
		}
		if _, err := s.Stat(ctx, key); !errors.Is(err, ErrNotFound) {
			t.Errorf("Stat(%q): %v, want ErrNotFound", key, err)
		}
	}
}

var hostileKeys = []string{
	"", "../x", "a/../../x", "/etc/passwd", "a//b", "a/./b", "./a", "a/", "a/..", ".tmp/x",
	"a\x00b", `a\b`, "..\\x", "a\nb", strings.Repeat("a", 1025), strings.Repeat("s", 256) + "/x", "\xff",
}

func testHostileKeys(t *testing.T, s Store, k func(string) string) {
	ctx := t.Context()
	src := filepath.Join(t.TempDir(), "f")
	for _, key := range hostileKeys {
		if err := os.WriteFile(src, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Put(ctx, key, strings.NewReader("x"), ""); !errors.Is(err, ErrInvalidKey) {
			t.Errorf("Put(%q): %v, want ErrInvalidKey", key, err)
		}
		if _, err := s.PutFile(ctx, key, src, ""); !errors.Is(err, ErrInvalidKey) {
			t.Errorf("PutFile(%q): %v, want ErrInvalidKey", key, err)
		}
		if _, err := s.Open(ctx, key); !errors.Is(err, ErrInvalidKey) {
			t.Errorf("Open(%q): %v, want ErrInvalidKey", key, err)
		}
		if _, err := s.Stat(ctx, key); !errors.Is(err, ErrInvalidKey) {
			t.Errorf("Stat(%q): %v, want ErrInvalidKey", key, err)
		}
		if err := s.Delete(ctx, key); !errors.Is(err, ErrInvalidKey) {
			t.Errorf("Delete(%q): %v, want ErrInvalidKey", key, err)
		}
	}
	// Longest acceptable key: limits are inclusive.
	ok := k(strings.Repeat("s", 255) + "/" + strings.Repeat("t", 255))
	put(t, s, ok, []byte("fine"))
	assertContent(t, s, ok, []byte("fine"))
}

func testCancelledPut(t *testing.T, s Store, k func(string) string) {
	ctx, cancel := context.WithCancel(t.Context())
	r := &cancelAfter{data: randomBytes(t, 1<<20), cancel: cancel, after: 64 << 10}
	if _, err := s.Put(ctx, k("cancelled"), r, ""); !errors.Is(err, context.Canceled) {
		t.Fatalf("Put with a context cancelled mid-copy: %v, want context.Canceled", err)
	}
	if _, err := s.Stat(t.Context(), k("cancelled")); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Stat after a cancelled Put: %v, want ErrNotFound", err)
	}
}

// cancelAfter is a reader that cancels its context once `after` bytes have
// been read, like a client that goes away mid-upload.
type cancelAfter struct {
	data   []byte
	off    int
	after  int
	cancel context.CancelFunc
}

func (c *cancelAfter) Read(p []byte) (int, error) {
	if c.off >= c.after {
		c.cancel()
	}
	if c.off >= len(c.data) {
		return 0, io.EOF
	}
	n := copy(p[:min(len(p), 16<<10)], c.data[c.off:])
	c.off += n
	return n, nil
}

func TestContentAddressedKey(t *testing.T) {
	sum := sha256.Sum256([]byte("hello"))
	const hexSum = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
	for _, tc := range []struct{ prefix, ext, want string }{
		{"videos", ".mp4", "videos/2c/f2/" + hexSum + ".mp4"},
		{"covers/", "jpg", "covers/2c/f2/" + hexSum + ".jpg"},
		{"", "", "2c/f2/" + hexSum},
	} {
		got := ContentAddressedKey(tc.prefix, sum[:], tc.ext)
		if got != tc.want {
			t.Errorf("ContentAddressedKey(%q, sum, %q) = %q, want %q", tc.prefix, tc.ext, got, tc.want)
		}
		if err := validateKey(got); err != nil {
			t.Errorf("content-addressed key is not a valid key: %v", err)
		}
	}
}

// Local-specific behaviour.

func TestLocalRemovesStaleTemps(t *testing.T) {
	root := t.TempDir()
	tmp := filepath.Join(root, tmpDirName)
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		t.Fatal(err)
	}
	stale, fresh := filepath.Join(tmp, "put-stale"), filepath.Join(tmp, "put-fresh")
	for _, p := range []string{stale, fresh} {
		if err := os.WriteFile(p, []byte("partial"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	old := time.Now().Add(-2 * staleTempAge)
	if err := os.Chtimes(stale, old, old); err != nil {
		t.Fatal(err)
	}
	if _, err := NewLocal(root); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("stale temp file survived NewLocal: %v", err)
	}
	if _, err := os.Stat(fresh); err != nil {
		t.Fatalf("fresh temp file (maybe a running Put) was removed: %v", err)
	}
}

func TestLocalLeavesNoTemps(t *testing.T) {
	l, err := NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	put(t, l, "a", []byte("a"))
	_, _ = l.Put(t.Context(), "a/b", strings.NewReader("b"), "") // Fails: a is an object.
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, _ = l.Put(ctx, "c", strings.NewReader("c"), "")
	entries, err := os.ReadDir(l.tmp)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 0 {
		t.Fatalf("%d temporary files left behind", len(entries))
	}
}

func TestLocalKeepsObjectsInsideRoot(t *testing.T) {
	parent := t.TempDir()
	root := filepath.Join(parent, "store")
	l, err := NewLocal(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range hostileKeys {
		_, _ = l.Put(t.Context(), key, strings.NewReader("x"), "")
	}
	entries, err := os.ReadDir(parent)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != "store" {
		t.Fatalf("files appeared beside the store: %v", entries)
	}
}

func TestLocalCorruptObject(t *testing.T) {
	l, err := NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	// A file dropped into the tree by hand has no trailer.
	if err := os.WriteFile(filepath.Join(l.root, "plain.mp4"), []byte("not an object"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = l.Open(t.Context(), "plain.mp4")
	if err == nil || errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "corrupt") {
		t.Fatalf("Open of a file without a trailer: %v, want a corrupt-object error", err)
	}
}

func TestLocalPutFileCopiesAcrossFilesystems(t *testing.T) {
	l, err := NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	data := randomBytes(t, 100<<10)
	src := filepath.Join(t.TempDir(), "upload")
	if err := os.WriteFile(src, data, 0o600); err != nil {
		t.Fatal(err)
	}
	// copyFile is what PutFile falls back to when rename fails (EXDEV).
	info, err := l.copyFile(t.Context(), "v.mp4", src, "video/mp4")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(src); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("source still there after the copy: %v", err)
	}
	if info.Size != int64(len(data)) {
		t.Fatalf("size %d, want %d", info.Size, len(data))
	}
	assertContent(t, l, "v.mp4", data)
}

func TestLocalPutFileRefusesSymlink(t *testing.T) {
	l, err := NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	target := filepath.Join(dir, "target")
	if err := os.WriteFile(target, []byte("precious"), 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	if _, err := l.PutFile(t.Context(), "s", link, ""); err == nil {
		t.Fatal("PutFile took over a symlink")
	}
	if got, err := os.ReadFile(target); err != nil || string(got) != "precious" {
		t.Fatalf("symlink target changed: %q, %v", got, err)
	}
}

func TestLocalETagIsContentHash(t *testing.T) {
	l, err := NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	info := put(t, l, "h", []byte("hello"))
	if want := "2cf24dba5fb0a30e26e83b2ac5b9e29e"; info.ETag != want {
		t.Fatalf("ETag %q, want the first 128 bits of SHA-256 %q", info.ETag, want)
	}
}

// Helpers.

func randomBytes(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func put(t *testing.T, s Store, key string, data []byte) Info {
	t.Helper()
	info, err := s.Put(t.Context(), key, bytes.NewReader(data), "")
	if err != nil {
		t.Fatal(err)
	}
	return info
}

func assertContent(t *testing.T, s Store, key string, want []byte) {
	t.Helper()
	o, err := s.Open(t.Context(), key)
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	got, err := io.ReadAll(o)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%q holds %d bytes, want %d (or the bytes differ)", key, len(got), len(want))
	}
}

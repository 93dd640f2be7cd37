package blob

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"mime"
	"os"
	"path"
	"path/filepath"
	"syscall"
	"time"
)

// Local is a Store on the local filesystem, for the single-process placement.
//
// Each object is one file at root/KEY holding the content followed by a
// small trailer: the metadata as JSON (size, content type, ETag), its length
// and a magic string. Keeping metadata in the same file as the content means
// one rename publishes both at once, so a reader can never pair new bytes
// with an old ETag, even when two writers race on one key or a crash hits
// between two steps; Stat reads only the trailer, never rehashes. The price
// is that the files are not plain media files: read them through the Store.
//
// Writes go to a temporary file in root/.tmp, are fsynced, renamed into
// place and the directory fsynced, so an acknowledged Put survives a crash
// and an interrupted one leaves at most a temporary file, which NewLocal
// removes once it is old enough not to belong to a running writer.
//
// Deleting an object leaves its (possibly empty) directories behind; removing
// them could race with a concurrent Put into the same directory.
type Local struct {
	root string
	tmp  string
}

var _ Store = (*Local)(nil)

const (
	tmpDirName   = ".tmp"
	staleTempAge = time.Hour

	footerLen   = 12 // uint32 metadata length + magic
	footerMagic = "MDBLOB01"
	maxMetaLen  = 4096

	objectPerm = 0o644
	dirPerm    = 0o755
)

// NewLocal opens (creating if needed) a store rooted at root and removes
// temporary files left by writers that crashed at least an hour ago.
func NewLocal(root string) (*Local, error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("blob: root %q: %w", root, err)
	}
	l := &Local{root: abs, tmp: filepath.Join(abs, tmpDirName)}
	if err := os.MkdirAll(l.tmp, dirPerm); err != nil {
		return nil, fmt.Errorf("blob: %w", err)
	}
	if err := l.removeStaleTemps(time.Now().Add(-staleTempAge)); err != nil {
		return nil, err
	}
	return l, nil
}

// removeStaleTemps deletes temporary files last modified before cutoff.
// Younger ones may belong to a Put in progress in another process.
func (l *Local) removeStaleTemps(cutoff time.Time) error {
	entries, err := os.ReadDir(l.tmp)
	if err != nil {
		return fmt.Errorf("blob: %w", err)
	}
	for _, e := range entries {
		fi, err := e.Info()
		if err != nil || !fi.ModTime().Before(cutoff) {
			continue
		}
		if err := os.RemoveAll(filepath.Join(l.tmp, e.Name())); err != nil {
			return fmt.Errorf("blob: removing stale temporary file: %w", err)
		}
	}
	return nil
}

// meta is the JSON part of an object's trailer.
type meta struct {
	Size        int64  `json:"size"`
	ContentType string `json:"content_type"`
	ETag        string `json:"etag"`
}

// Put stores r under key. An empty contentType is derived from the key's
// extension, falling back to application/octet-stream.
func (l *Local) Put(ctx context.Context, key string, r io.Reader, contentType string) (Info, error) {
	if err := validateKey(key); err != nil {
		return Info{}, err
	}
	contentType, err := resolveContentType(key, contentType)
	if err != nil {
		return Info{}, err
	}
	f, err := os.CreateTemp(l.tmp, "put-*")
	if err != nil {
		return Info{}, fmt.Errorf("blob: put %q: %w", key, err)
	}
	committed := false
	defer func() {
		f.Close() // Closing twice (commit closes too) is harmless.
		if !committed {
			os.Remove(f.Name())
		}
	}()

	h := sha256.New()
	size, err := io.CopyBuffer(io.MultiWriter(f, h), ctxReader{ctx, r}, make([]byte, 256<<10))
	if err != nil {
		return Info{}, fmt.Errorf("blob: put %q: %w", key, err)
	}
	info, err := l.commit(f, key, meta{Size: size, ContentType: contentType, ETag: etag(h)})
	if err != nil {
		return Info{}, err
	}
	committed = true
	return info, nil
}

// PutFile moves the regular file at path into the store under key. On the
// same filesystem it is renamed (no copy; the trailer is appended in place,
// so the file must not have other hard links), otherwise copied and then
// removed. If PutFile fails before the object is stored, the file is put
// back at path as it was.
func (l *Local) PutFile(ctx context.Context, key, path, contentType string) (Info, error) {
	if err := validateKey(key); err != nil {
		return Info{}, err
	}
	contentType, err := resolveContentType(key, contentType)
	if err != nil {
		return Info{}, err
	}
	// Appending the trailer to a symlink's target or a directory would be
	// wrong; only a plain file can be taken over.
	fi, err := os.Lstat(path)
	if err != nil {
		return Info{}, fmt.Errorf("blob: put %q from file: %w", key, err)
	}
	if !fi.Mode().IsRegular() {
		return Info{}, fmt.Errorf("blob: put %q from file: %s is not a regular file", key, path)
	}

	tmp := filepath.Join(l.tmp, "file-"+randomSuffix())
	if err := os.Rename(path, tmp); err != nil {
		// Another filesystem (or a rename the OS refuses): copy instead.
		return l.copyFile(ctx, key, path, contentType)
	}
	info, err := l.takeOver(ctx, tmp, key, contentType)
	if err != nil {
		// Give the caller its file back as it was, without a trailer.
		if terr := os.Truncate(tmp, fi.Size()); terr != nil || os.Rename(tmp, path) != nil {
			os.Remove(tmp)
		}
		return Info{}, err
	}
	return info, nil
}

// takeOver hashes a file already moved into the temporary directory, appends
// the trailer and publishes it.
func (l *Local) takeOver(ctx context.Context, tmp, key, contentType string) (Info, error) {
	f, err := os.OpenFile(tmp, os.O_RDWR, 0)
	if err != nil {
		return Info{}, fmt.Errorf("blob: put %q from file: %w", key, err)
	}
	defer f.Close()
	h := sha256.New()
	size, err := io.CopyBuffer(h, ctxReader{ctx, f}, make([]byte, 256<<10))
	if err != nil {
		return Info{}, fmt.Errorf("blob: put %q from file: %w", key, err)
	}
	return l.commit(f, key, meta{Size: size, ContentType: contentType, ETag: etag(h)})
}

func (l *Local) copyFile(ctx context.Context, key, path, contentType string) (Info, error) {
	src, err := os.Open(path)
	if err != nil {
		return Info{}, fmt.Errorf("blob: put %q from file: %w", key, err)
	}
	info, err := l.Put(ctx, key, src, contentType)
	src.Close()
	if err != nil {
		return Info{}, err
	}
	if err := os.Remove(path); err != nil {
		return Info{}, fmt.Errorf("blob: stored %q but could not remove %s: %w", key, path, err)
	}
	return info, nil
}

// commit appends the trailer to f after its m.Size bytes of content, makes
// it durable, closes it and renames it to key's path. Once the content is
// complete the context is no longer consulted: a half-done commit helps
// no one.
func (l *Local) commit(f *os.File, key string, m meta) (Info, error) {
	fail := func(err error) (Info, error) { return Info{}, fmt.Errorf("blob: put %q: %w", key, err) }
	js, err := json.Marshal(m)
	if err != nil {
		return fail(err)
	}
	if _, err := f.Seek(m.Size, io.SeekStart); err != nil {
		return fail(err)
	}
	trailer := make([]byte, 0, len(js)+footerLen)
	trailer = append(trailer, js...)
	trailer = binary.BigEndian.AppendUint32(trailer, uint32(len(js)))
	trailer = append(trailer, footerMagic...)
	if _, err := f.Write(trailer); err != nil {
		return fail(err)
	}
	if err := f.Chmod(objectPerm); err != nil {
		return fail(err)
	}
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	fi, err := f.Stat()
	if err != nil {
		return fail(err)
	}
	if err := f.Close(); err != nil {
		return fail(err)
	}
	dst := l.path(key)
	if err := l.mkdirs(filepath.Dir(dst)); err != nil {
		return fail(err)
	}
	if err := os.Rename(f.Name(), dst); err != nil {
		return fail(err)
	}
	if err := syncDir(filepath.Dir(dst)); err != nil {
		return fail(err)
	}
	return Info{Key: key, Size: m.Size, ModTime: fi.ModTime(), ContentType: m.ContentType, ETag: m.ETag}, nil
}

// Open opens the object stored under key.
func (l *Local) Open(ctx context.Context, key string) (Object, error) {
	f, info, err := l.open(key)
	if err != nil {
		return nil, err
	}
	return &localObject{SectionReader: io.NewSectionReader(f, 0, info.Size), f: f, info: info}, nil
}

// Stat describes the object stored under key from its trailer.
func (l *Local) Stat(ctx context.Context, key string) (Info, error) {
	f, info, err := l.open(key)
	if err != nil {
		return Info{}, err
	}
	f.Close()
	return info, nil
}

func (l *Local) open(key string) (*os.File, Info, error) {
	if err := validateKey(key); err != nil {
		return nil, Info{}, err
	}
	f, err := os.Open(l.path(key))
	if err != nil {
		if isNotExist(err) {
			return nil, Info{}, fmt.Errorf("%w: %q", ErrNotFound, key)
		}
		return nil, Info{}, fmt.Errorf("blob: open %q: %w", key, err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, Info{}, fmt.Errorf("blob: open %q: %w", key, err)
	}
	if fi.IsDir() {
		f.Close()
		return nil, Info{}, fmt.Errorf("%w: %q", ErrNotFound, key)
	}
	m, _, err := readTrailer(f, fi.Size())
	if err != nil {
		f.Close()
		return nil, Info{}, fmt.Errorf("blob: open %q: corrupt object: %w", key, err)
	}
	return f, Info{Key: key, Size: m.Size, ModTime: fi.ModTime(), ContentType: m.ContentType, ETag: m.ETag}, nil
}

// readTrailer reads the metadata at the end of an object file of the given
// size and returns it with the length of its JSON.
func readTrailer(f io.ReaderAt, size int64) (meta, int64, error) {
	var m meta
	if size < footerLen {
		return m, 0, errors.New("shorter than its trailer")
	}
	var foot [footerLen]byte
	if _, err := f.ReadAt(foot[:], size-footerLen); err != nil {
		return m, 0, err
	}
	if string(foot[4:]) != footerMagic {
		return m, 0, errors.New("no trailer")
	}
	n := int64(binary.BigEndian.Uint32(foot[:4]))
	if n > maxMetaLen || n > size-footerLen {
		return m, 0, errors.New("bad trailer length")
	}
	js := make([]byte, n)
	if _, err := f.ReadAt(js, size-footerLen-n); err != nil {
		return m, 0, err
	}
	if err := json.Unmarshal(js, &m); err != nil {
		return m, 0, fmt.Errorf("trailer: %w", err)
	}
	if m.Size != size-footerLen-n {
		return m, 0, errors.New("size does not match the trailer")
	}
	return m, n, nil
}

// Delete removes the object under key. A missing key, or a key that names
// only a directory of other objects, is not an error.
func (l *Local) Delete(ctx context.Context, key string) error {
	if err := validateKey(key); err != nil {
		return err
	}
	p := l.path(key)
	fi, err := os.Lstat(p)
	if err != nil {
		if isNotExist(err) {
			return nil
		}
		return fmt.Errorf("blob: delete %q: %w", key, err)
	}
	if fi.IsDir() {
		return nil
	}
	if err := os.Remove(p); err != nil && !isNotExist(err) {
		return fmt.Errorf("blob: delete %q: %w", key, err)
	}
	if err := syncDir(filepath.Dir(p)); err != nil {
		return fmt.Errorf("blob: delete %q: %w", key, err)
	}
	return nil
}

// path maps a validated key to its file; validation guarantees it stays
// under root.
func (l *Local) path(key string) string {
	return filepath.Join(l.root, filepath.FromSlash(key))
}

// mkdirs creates dir and its missing parents below root, fsyncing each
// parent so the new entries survive a crash along with the object.
func (l *Local) mkdirs(dir string) error {
	if fi, err := os.Stat(dir); err == nil && fi.IsDir() {
		return nil
	}
	parent := filepath.Dir(dir)
	if dir != l.root && parent != dir {
		if err := l.mkdirs(parent); err != nil {
			return err
		}
	}
	if err := os.Mkdir(dir, dirPerm); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	return syncDir(parent)
}

type localObject struct {
	*io.SectionReader
	f    *os.File
	info Info
}

func (o *localObject) Close() error { return o.f.Close() }
func (o *localObject) Info() Info   { return o.info }

// resolveContentType validates ct, or derives it from the key's extension.
func resolveContentType(key, ct string) (string, error) {
	if ct == "" {
		ct = mime.TypeByExtension(path.Ext(key))
	}
	if ct == "" {
		ct = "application/octet-stream"
	}
	return ct, validateContentType(ct)
}

func etag(h hash.Hash) string {
	// 128 bits of SHA-256 are plenty to tell contents apart and keep headers short.
	return hex.EncodeToString(h.Sum(nil)[:16])
}

func randomSuffix() string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms.
	return hex.EncodeToString(b[:])
}

// isNotExist also treats "a path component is a file" as missing: key a/b/c
// when a/b is an object.
func isNotExist(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// ctxReader stops a copy when its context ends, so a cancelled upload does
// not keep writing to disk.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

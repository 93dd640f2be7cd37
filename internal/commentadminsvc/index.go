package commentadminsvc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/analysis"
	"github.com/blevesearch/bleve/v2/analysis/analyzer/custom"
	"github.com/blevesearch/bleve/v2/analysis/lang/cjk"
	"github.com/blevesearch/bleve/v2/analysis/token/lowercase"
	"github.com/blevesearch/bleve/v2/analysis/tokenizer/unicode"
	"github.com/blevesearch/bleve/v2/analysis/tokenizer/whitespace"
	"github.com/blevesearch/bleve/v2/index/scorch"
	"github.com/blevesearch/bleve/v2/mapping"
	"github.com/blevesearch/bleve/v2/search"
	"github.com/blevesearch/bleve/v2/search/query"
	bindex "github.com/blevesearch/bleve_index_api"

	"github.com/mdouyin/mdouyin/internal/errs"
	"github.com/mdouyin/mdouyin/kitex_gen/comment"
)

// The search index of the comment-admin role (seed 004: the Elasticsearch side of
// binlog → joiner → ES). One wide document per comment, fed by the comment change
// events; moderators search it with combined filters instead of asking MySQL, and
// act on what they find by id, after the service re-reads the comment from the
// database (the index may lag).
//
// Chinese has no spaces between words, so the content is cut into units and
// indexed twice. The analysis is ours, in Go, shared by indexing and querying
// (see runs); bleve only splits its output on spaces.
//
//   - Units: Unicode word breaks (UAX #29), width folding and lowercase, as in
//     the first half of bleve's cjk analyzer, then every CJK character alone:
//     "这个UP主真棒！" is 这 个 up 主 真 棒. Units that touch in the text form
//     a run; spaces and punctuation end runs.
//   - content_uni holds the units. A query of one unit ("主", "hello") is one
//     term here.
//   - content_pairs holds every two touching units of a run as one term, with
//     positions: the CJK bigrams of the cjk analyzer, extended across scripts
//     ("up主", "2024年"), and a marker between runs. A two-unit query ("天气",
//     "UP主") is one term here; a longer one is the phrase of its pairs, which
//     matches exactly where the run occurs: "天气不错" finds "今天天气不错"
//     but not "天气，不错", nor "天气，气不错" (the marker breaks the phrase).
//     With bleve's cjk analyzer, which pairs CJK characters only, "UP主"
//     could only be a phrase of two unigrams that each occur in a fifth of
//     all comments: ~300 ms over a million of them, against ~10 ms here.
//
// Each document also stores the whole Doc as JSON (not indexed), so a search
// answers full Docs without a second lookup. Filters are keyword terms (exact
// for any int64); create_time and id are numeric, with doc values, for the time
// range and the newest-first sort.
const (
	fUnits      = "content_uni"
	fPairs      = "content_pairs"
	fVideo      = "video_id"
	fUser       = "user_id"
	fState      = "state"
	fRoot       = "root_id"
	fCreateTime = "create_time"
	fID         = "id"
	fDoc        = "doc"

	// spaceAnalyzer splits the content texts, analysed in Go, on spaces.
	spaceAnalyzer = "mdouyin_space"
	// runMark separates runs in content_pairs; no unit or pair is "|".
	runMark = "|"

	// schemaKey holds schemaVersion in the index. A build whose mapping or
	// analysis differs bumps schemaVersion, and opening an older index then asks
	// for `mdouyin reindex` instead of silently answering wrong.
	schemaKey     = "mdouyin_schema"
	schemaVersion = "1"

	// seqKey holds the number of the last batch written, in the same atomic
	// batch as its documents; seqFile repeats it beside the index once the
	// batch returned. Scorch, finding its newest snapshot damaged, silently
	// falls back to an older one (or to nothing), which would leave comments
	// missing from the index for good, since their events are already
	// acknowledged. An index that opens behind seqFile is refused instead.
	seqKey  = "mdouyin_seq"
	seqFile = "written_seq"

	// timesKey holds "oldest,newest": the range of CreateTime over every
	// document ever indexed, for Search's time windows.
	timesKey = "mdouyin_times"
)

// Search limits.
const (
	// DefaultLimit is the page size when Query.Limit is 0 or less; MaxLimit caps it.
	DefaultLimit = 20
	MaxLimit     = 100
	// MaxWindow caps Offset+Limit. Bleve keeps Offset+Limit hits in memory per
	// search; moderators narrow the filters instead of paging that deep.
	MaxWindow = 10000

	// sortAllUnder is the number of matches Search sorts directly; above it,
	// Search first narrows to a recent time window (see SearchContext). A
	// sparse match costs the sort up to tens of microseconds (a compressed
	// chunk of doc values each), a few counts about a millisecond.
	sortAllUnder = 128

	// maxQueryRunes and maxQueryPhrases bound the work one query can cause.
	// Longer input is cut, which only widens the search.
	maxQueryRunes   = 256
	maxQueryPhrases = 32

	// maxID is 2^53: ids are sorted as float64 doc values, exact only below it
	// (idgen keeps every id there, and the admin API sends ids as JSON numbers).
	maxID = 1 << 53
)

// ErrDeepPage is returned by Search when Offset+Limit exceeds MaxWindow.
var ErrDeepPage = errs.InvalidArgument("offset+limit may not exceed %d: narrow the search with filters instead", MaxWindow)

// ErrIndexUnusable wraps every OpenIndex failure on an existing index directory.
var ErrIndexUnusable = errors.New("search index unusable")

// Doc is one comment as the index keeps it.
type Doc struct {
	ID, VideoID, UserID int64
	UserName            string
	Content             string
	State               comment.CommentState
	RootID, ParentID    int64
	Floor               int64
	LikeCount           int64
	ReplyCount          int64
	CreateTime          int64 // epoch ms
	// Version is the comment's version (commentsvc.Event.Version): it grows with
	// each change, so the index keeps the newest copy whatever order events
	// arrive in. 0 means unknown and never replaces a versioned copy.
	Version int64
}

// storedDoc is Doc with short JSON names: it is stored once per comment, and a
// million comments make the names count.
type storedDoc struct {
	ID         int64                `json:"i"`
	VideoID    int64                `json:"v"`
	UserID     int64                `json:"u"`
	UserName   string               `json:"n,omitempty"`
	Content    string               `json:"c"`
	State      comment.CommentState `json:"s"`
	RootID     int64                `json:"r,omitempty"`
	ParentID   int64                `json:"p,omitempty"`
	Floor      int64                `json:"f,omitempty"`
	LikeCount  int64                `json:"l,omitempty"`
	ReplyCount int64                `json:"y,omitempty"`
	CreateTime int64                `json:"t"`
	Version    int64                `json:"ver,omitempty"`
}

// Query is a moderator's search. Zero values mean "any".
type Query struct {
	// Q is full text as typed. Whitespace separates words, and every word must
	// match; a word matches as a contiguous run (a Chinese phrase, a Latin word,
	// or a mix like "UP主"). Punctuation separates words too. Q is never parsed
	// as query syntax, so any input is safe. Blank Q lists by the filters alone;
	// a Q with no letters or digits at all (say "!!!") matches nothing.
	Q               string
	VideoID, UserID int64
	State           comment.CommentState
	RootID          int64 // a thread: its replies (the root itself has RootID 0)
	From, To        int64 // create_time in epoch ms: From inclusive, To exclusive; 0 = open
	// Offset and Limit page the answer: Limit 0 or less means DefaultLimit, more
	// than MaxLimit means MaxLimit, a negative Offset means 0, and Offset+Limit
	// above MaxWindow is ErrDeepPage.
	Offset, Limit int
}

// Result is one page of a search: the number of matching comments and the page,
// newest first (CreateTime descending, then ID descending).
type Result struct {
	Total int64
	Docs  []Doc
}

// Index is the comment search index in one directory. Searches run concurrently;
// writes are serialised, because each reads the indexed version before writing.
type Index struct {
	dir   string
	idx   bleve.Index
	units analysis.Analyzer

	mu  sync.Mutex // serialises writers and Close
	seq uint64     // the last batch written (seqKey)

	// oldest and newest bound the CreateTime of every indexed document (see
	// timesKey), once timed. Written under mu, read by searches.
	oldest, newest atomic.Int64
	timed          atomic.Bool

	// sortAllUnder is the constant of the same name; tests lower it to
	// exercise the time windows on small indexes.
	sortAllUnder uint64
}

// OpenIndex opens the index in dir, creating it if dir is missing or empty.
//
// Bleve persists every batch before Upsert returns, so an index that was
// killed (kill -9, power loss) reopens with every acknowledged write. If the
// index cannot be opened anyway (damaged files, a different schema, another
// process holding it), the error wraps ErrIndexUnusable and says to rebuild it
// with `mdouyin reindex`: the index is a copy of the database, never the only one.
func OpenIndex(dir string) (*Index, error) {
	x := &Index{dir: dir, units: newUnitAnalyzer(), sortAllUnder: sortAllUnder}
	// A second process opening the same index would wait forever on its lock.
	runtime := map[string]any{"bolt_timeout": "5s"}

	fresh, err := noIndexYet(dir)
	if err != nil {
		return nil, err
	}
	if fresh {
		// A batch number left by an index deleted without it must not make
		// the new one look damaged.
		if err := os.Remove(filepath.Join(dir, seqFile)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, err
		}
		m, err := newMapping()
		if err != nil {
			return nil, err
		}
		x.idx, err = bleve.NewUsing(dir, m, scorch.Name, scorch.Name, runtime)
		if err != nil {
			return nil, fmt.Errorf("commentadminsvc: create search index in %s: %w", dir, err)
		}
		if err := x.idx.SetInternal([]byte(schemaKey), []byte(schemaVersion)); err != nil {
			x.idx.Close()
			return nil, fmt.Errorf("commentadminsvc: create search index in %s: %w", dir, err)
		}
		return x, nil
	}

	x.idx, err = openExisting(dir, runtime)
	if err != nil {
		return nil, unusable(dir, err)
	}
	if err := x.check(); err != nil {
		x.idx.Close()
		return nil, unusable(dir, err)
	}
	return x, nil
}

// check refuses an index built with another schema, or one that opened older
// than what was written to it (see seqKey).
func (x *Index) check() error {
	if err := x.checkSchema(); err != nil {
		return err
	}
	v, err := x.idx.GetInternal([]byte(seqKey))
	if err != nil {
		return err
	}
	if v != nil {
		if x.seq, err = strconv.ParseUint(string(v), 10, 64); err != nil {
			return fmt.Errorf("batch number %q: %w", v, err)
		}
	}
	if v, err := x.idx.GetInternal([]byte(timesKey)); err != nil {
		return err
	} else if v != nil {
		lo, hi, ok := strings.Cut(string(v), ",")
		oldest, err1 := strconv.ParseInt(lo, 10, 64)
		newest, err2 := strconv.ParseInt(hi, 10, 64)
		if !ok || err1 != nil || err2 != nil {
			return fmt.Errorf("time range %q unreadable", v)
		}
		x.oldest.Store(oldest)
		x.newest.Store(newest)
		x.timed.Store(true)
	}
	// A missing or torn seqFile (a crash while writing it) proves nothing.
	b, err := os.ReadFile(filepath.Join(x.dir, seqFile))
	if err != nil {
		return nil
	}
	if written, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64); err == nil && written > x.seq {
		return fmt.Errorf("the index holds %d batches but %d were written: its newest files are damaged", x.seq, written)
	}
	return nil
}

// openExisting opens an existing index, turning a panic inside bleve on damaged
// files into an error.
func openExisting(dir string, runtime map[string]any) (idx bleve.Index, err error) {
	defer func() {
		if r := recover(); r != nil {
			idx, err = nil, fmt.Errorf("panic while opening: %v", r)
		}
	}()
	return bleve.OpenUsing(dir, runtime)
}

func unusable(dir string, err error) error {
	return fmt.Errorf("%w: %s cannot be opened (%v); if another mdouyin process is using it, stop that one; "+
		"otherwise rebuild it with `mdouyin reindex`", ErrIndexUnusable, dir, err)
}

// checkSchema compares the schema version the index was built with. An index
// whose creation was cut short before the version was written is empty, and
// takes the version now.
func (x *Index) checkSchema() error {
	v, err := x.idx.GetInternal([]byte(schemaKey))
	if err != nil {
		return err
	}
	if v == nil {
		n, err := x.idx.DocCount()
		if err != nil {
			return err
		}
		if n == 0 {
			return x.idx.SetInternal([]byte(schemaKey), []byte(schemaVersion))
		}
	}
	if string(v) != schemaVersion {
		return fmt.Errorf("built with index schema %q, this build uses %q", v, schemaVersion)
	}
	return nil
}

// RemoveIndex deletes the index in dir, leaving any other files there (the
// indexer's replica name), so that OpenIndex creates a new one: the first step
// of rebuilding an index that OpenIndex refused. The index must not be open.
func RemoveIndex(dir string) error {
	for _, name := range []string{"store", "index_meta.json", "index_meta.json_temp", seqFile, seqFile + ".tmp"} {
		if err := os.RemoveAll(filepath.Join(dir, name)); err != nil {
			return fmt.Errorf("commentadminsvc: remove search index: %w", err)
		}
	}
	return nil
}

// noIndexYet reports whether dir holds no index yet. Other files may share the
// directory (the indexer keeps its replica name there). Bleve writes
// index_meta.json before the store, so a store without it is a damaged index,
// not a new one.
func noIndexYet(dir string) (bool, error) {
	_, err := os.Stat(filepath.Join(dir, "index_meta.json"))
	if err == nil {
		return false, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return false, fmt.Errorf("commentadminsvc: search index directory: %w", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "store")); err == nil {
		return false, unusable(dir, errors.New("index_meta.json is missing"))
	}
	return true, nil
}

func newMapping() (*mapping.IndexMappingImpl, error) {
	im := bleve.NewIndexMapping()
	if err := im.AddCustomAnalyzer(spaceAnalyzer, map[string]any{
		"type":      custom.Name,
		"tokenizer": whitespace.Name,
	}); err != nil {
		return nil, err
	}
	text := func(positions bool) *mapping.FieldMapping {
		f := bleve.NewTextFieldMapping()
		f.Analyzer = spaceAnalyzer
		f.Store, f.IncludeInAll, f.DocValues = false, false, false
		f.IncludeTermVectors = positions // for phrases
		return f
	}
	keyword := func() *mapping.FieldMapping {
		f := bleve.NewKeywordFieldMapping()
		f.Store, f.IncludeInAll, f.DocValues, f.IncludeTermVectors = false, false, false, false
		return f
	}
	number := func() *mapping.FieldMapping {
		f := bleve.NewNumericFieldMapping()
		f.Store, f.IncludeInAll = false, false
		f.DocValues = true // sorting
		return f
	}
	stored := bleve.NewTextFieldMapping()
	stored.Index, stored.IncludeInAll, stored.DocValues, stored.IncludeTermVectors = false, false, false, false
	stored.Store = true

	dm := bleve.NewDocumentStaticMapping()
	dm.AddFieldMappingsAt(fUnits, text(false))
	dm.AddFieldMappingsAt(fPairs, text(true))
	for _, f := range []string{fVideo, fUser, fState, fRoot} {
		dm.AddFieldMappingsAt(f, keyword())
	}
	dm.AddFieldMappingsAt(fCreateTime, number())
	dm.AddFieldMappingsAt(fID, number())
	dm.AddFieldMappingsAt(fDoc, stored)

	im.DefaultMapping = dm
	im.IndexDynamic, im.StoreDynamic, im.DocValuesDynamic = false, false, false
	return im, nil
}

// newUnitAnalyzer is the first half of bleve's cjk analyzer: Unicode word
// breaks, width folding ("ＵＰ" is "UP"), lowercase. runs does the rest.
func newUnitAnalyzer() analysis.Analyzer {
	return &analysis.DefaultAnalyzer{
		Tokenizer:    unicode.NewUnicodeTokenizer(),
		TokenFilters: []analysis.TokenFilter{cjk.NewCJKWidthFilter(), lowercase.NewLowerCaseFilter()},
	}
}

// runs cuts analysed text into runs of units. Tokens that touch in the text
// form a run, and a CJK token is one unit per character: word breaks already
// split Han characters apart but keep a Katakana word whole, and splitting it
// makes "タ" findable in "カタカナ".
func runs(tokens analysis.TokenStream) [][]string {
	var out [][]string
	for i, t := range tokens {
		if i == 0 || t.Start != tokens[i-1].End {
			out = append(out, nil)
		}
		run := &out[len(out)-1]
		if t.Type == analysis.Ideographic {
			for _, c := range string(t.Term) {
				*run = append(*run, string(c))
			}
		} else if u := strings.Join(strings.Fields(string(t.Term)), ""); u != "" {
			*run = append(*run, u) // a word never holds a space; if it did, bleve would split it
		}
	}
	return out
}

// pairs returns the pairs of adjacent units of a run.
func pairs(run []string) []string {
	out := make([]string, 0, len(run))
	for i := 1; i < len(run); i++ {
		out = append(out, run[i-1]+run[i])
	}
	return out
}

// contentTexts returns the content_uni and content_pairs texts of content.
func (x *Index) contentTexts(content string) (units, paired string) {
	var u, p strings.Builder
	for _, run := range runs(x.units.Analyze([]byte(content))) {
		for _, unit := range run {
			u.WriteString(unit)
			u.WriteByte(' ')
		}
		if len(run) > 1 {
			for _, pair := range pairs(run) {
				p.WriteString(pair)
				p.WriteByte(' ')
			}
			p.WriteString(runMark + " ")
		}
	}
	return u.String(), p.String()
}

func key(id int64) string { return strconv.FormatInt(id, 10) }

// fields is the document bleve indexes for d.
func (x *Index) fields(d Doc) (map[string]any, error) {
	blob, err := json.Marshal(storedDoc(d))
	if err != nil {
		return nil, err
	}
	units, paired := x.contentTexts(d.Content)
	return map[string]any{
		fUnits:      units,
		fPairs:      paired,
		fVideo:      key(d.VideoID),
		fUser:       key(d.UserID),
		fState:      strconv.Itoa(int(d.State)),
		fRoot:       key(d.RootID),
		fCreateTime: float64(d.CreateTime),
		fID:         float64(d.ID),
		fDoc:        string(blob),
	}, nil
}

// normalize makes d what the index will give back: JSON cannot carry invalid
// UTF-8, and comparing a redelivered doc with the stored one must see them equal.
func normalize(d Doc) (Doc, error) {
	if d.ID <= 0 || d.ID >= maxID {
		return d, fmt.Errorf("commentadminsvc: comment id %d outside 1..2^53-1", d.ID)
	}
	d.Content = strings.ToValidUTF8(d.Content, "\uFFFD")
	d.UserName = strings.ToValidUTF8(d.UserName, "\uFFFD")
	return d, nil
}

// Upsert indexes docs in one batch, persisted before it returns.
//
// It is idempotent and order-tolerant, because events may be delivered twice
// and out of order: a doc older than the indexed copy (lower Version) is
// ignored, an equal Version overwrites, and a doc equal to the indexed copy is
// not rewritten at all. Within one call the highest Version of an id wins.
//
// An empty UserName keeps the indexed one: names come from the user role, not
// from comment events, so an event about a like or a state change (which knows
// every other field) can be upserted as it is without erasing the name. This
// is why the event consumer needs only Upsert; Patch is for changes that do
// not come with the whole comment.
func (x *Index) Upsert(docs ...Doc) error {
	if len(docs) == 0 {
		return nil
	}
	latest := make(map[int64]int, len(docs)) // id → position in batch
	batch := make([]Doc, 0, len(docs))
	for _, d := range docs {
		d, err := normalize(d)
		if err != nil {
			return err
		}
		if i, ok := latest[d.ID]; ok {
			if d.Version >= batch[i].Version {
				if d.UserName == "" {
					d.UserName = batch[i].UserName
				}
				batch[i] = d
			}
			continue
		}
		latest[d.ID] = len(batch)
		batch = append(batch, d)
	}

	x.mu.Lock()
	defer x.mu.Unlock()
	r, err := x.reader()
	if err != nil {
		return err
	}
	defer r.Close()
	b := x.idx.NewBatch()
	oldest, newest := int64(math.MaxInt64), int64(math.MinInt64)
	for _, d := range batch {
		cur, ok, err := stored(r, d.ID)
		if err != nil {
			return err
		}
		if ok {
			if d.Version < cur.Version {
				continue
			}
			if d.UserName == "" {
				d.UserName = cur.UserName
			}
			if d == cur {
				continue
			}
		}
		f, err := x.fields(d)
		if err != nil {
			return err
		}
		if err := b.Index(key(d.ID), f); err != nil {
			return err
		}
		oldest, newest = min(oldest, d.CreateTime), max(newest, d.CreateTime)
	}
	if b.Size() == 0 {
		return nil
	}
	return x.commit(b, oldest, newest)
}

// Patch applies f to the indexed copy of comment id and writes the result as
// version. It reports whether the comment is indexed: if not, there is nothing
// to patch, and a caller can fetch the whole comment and Upsert it. A patch
// older than the indexed copy is ignored (and reports true). f must not change
// the id.
func (x *Index) Patch(id int64, version int64, f func(*Doc)) (bool, error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	r, err := x.reader()
	if err != nil {
		return false, err
	}
	defer r.Close()
	cur, ok, err := stored(r, id)
	if err != nil || !ok {
		return false, err
	}
	if version < cur.Version {
		return true, nil
	}
	d := cur
	f(&d)
	d.ID, d.Version = cur.ID, version
	if d, err = normalize(d); err != nil {
		return false, err
	}
	if d == cur {
		return true, nil
	}
	fs, err := x.fields(d)
	if err != nil {
		return false, err
	}
	b := x.idx.NewBatch()
	if err := b.Index(key(id), fs); err != nil {
		return false, err
	}
	return true, x.commit(b, d.CreateTime, d.CreateTime)
}

// commit writes b, whose documents were created between oldest and newest,
// with the next batch number and the widened time range, then records the
// batch number in seqFile. The file is not synced: a file older than the index
// after a power loss only weakens the check, it never fails a good index,
// because the index itself is on disk before Batch returns.
func (x *Index) commit(b *bleve.Batch, oldest, newest int64) error {
	b.SetInternal([]byte(seqKey), []byte(strconv.FormatUint(x.seq+1, 10)))
	if x.timed.Load() {
		oldest, newest = min(oldest, x.oldest.Load()), max(newest, x.newest.Load())
	}
	b.SetInternal([]byte(timesKey), []byte(strconv.FormatInt(oldest, 10)+","+strconv.FormatInt(newest, 10)))
	if err := x.idx.Batch(b); err != nil {
		return err
	}
	x.seq++
	x.oldest.Store(oldest)
	x.newest.Store(newest)
	x.timed.Store(true)
	path := filepath.Join(x.dir, seqFile)
	if err := os.WriteFile(path+".tmp", []byte(strconv.FormatUint(x.seq, 10)), 0o600); err != nil {
		return err
	}
	return os.Rename(path+".tmp", path)
}

// Get returns the indexed copy of comment id.
func (x *Index) Get(id int64) (Doc, bool, error) {
	r, err := x.reader()
	if err != nil {
		return Doc{}, false, err
	}
	defer r.Close()
	return stored(r, id)
}

func (x *Index) reader() (bindex.IndexReader, error) {
	adv, err := x.idx.Advanced()
	if err != nil {
		return nil, err
	}
	return adv.Reader()
}

// stored reads the indexed copy of comment id from one snapshot.
func stored(r bindex.IndexReader, id int64) (Doc, bool, error) {
	doc, err := r.Document(key(id))
	if err != nil || doc == nil {
		return Doc{}, false, err
	}
	var blob []byte
	doc.VisitFields(func(f bindex.Field) {
		if f.Name() == fDoc {
			blob = f.Value()
		}
	})
	return decode(blob)
}

func decode(blob []byte) (Doc, bool, error) {
	if blob == nil {
		return Doc{}, false, errors.New("commentadminsvc: indexed comment without its stored copy")
	}
	var s storedDoc
	if err := json.Unmarshal(blob, &s); err != nil {
		return Doc{}, false, fmt.Errorf("commentadminsvc: indexed comment: %w", err)
	}
	return Doc(s), true, nil
}

// Search answers one page of q, newest first.
func (x *Index) Search(q Query) (Result, error) {
	return x.SearchContext(context.Background(), q)
}

// SearchContext is Search that stops when ctx is done.
//
// Bleve sorts by reading every match's doc values, microseconds a match, so
// sorting a million comments newest first takes seconds. A page needs only the
// newest Offset+Limit matches, though: when there are many matches, Search
// counts them (cheap, no doc values), finds a recent time window that holds
// enough of them, and sorts only that window. Every match outside the window
// is older than every match in it, so the page is the one a full sort gives.
// The count and the page are two reads; a write landing between them can make
// Total differ from the page by that write.
func (x *Index) SearchContext(ctx context.Context, q Query) (Result, error) {
	limit := q.Limit
	if limit <= 0 {
		limit = DefaultLimit
	}
	limit = min(limit, MaxLimit)
	offset := max(q.Offset, 0)
	if offset > MaxWindow-limit { // not offset+limit: that can overflow
		return Result{}, ErrDeepPage
	}

	var text []query.Query
	if strings.TrimSpace(q.Q) != "" {
		if text = x.textQueries(q.Q); len(text) == 0 {
			return Result{Docs: []Doc{}}, nil // nothing searchable in Q: see Query.Q
		}
	}
	if q.From != 0 && q.To != 0 && q.To <= q.From {
		return Result{Docs: []Doc{}}, nil
	}
	var from *int64
	if q.From != 0 {
		from = &q.From
	}

	var total uint64
	var err error
	if len(text) == 0 && q.VideoID == 0 && q.UserID == 0 && q.State == 0 && q.RootID == 0 && q.From == 0 && q.To == 0 {
		total, err = x.idx.DocCount()
	} else {
		total, err = x.count(ctx, x.query(text, q, from))
	}
	if err != nil {
		return Result{}, fmt.Errorf("commentadminsvc: search: %w", err)
	}
	if uint64(offset) >= total {
		return Result{Total: int64(total), Docs: []Doc{}}, nil
	}
	if total > x.sortAllUnder {
		if from, err = x.window(ctx, text, q, total, uint64(offset+limit)); err != nil {
			return Result{}, fmt.Errorf("commentadminsvc: search: %w", err)
		}
	}

	req := bleve.NewSearchRequestOptions(x.query(text, q, from), limit, offset, false)
	req.Fields = []string{fDoc}
	req.Score = "none" // the order is by time; relevance would be wasted work
	req.SortByCustom(search.SortOrder{
		&search.SortField{Field: fCreateTime, Desc: true, Type: search.SortFieldAsNumber},
		&search.SortField{Field: fID, Desc: true, Type: search.SortFieldAsNumber},
	})
	res, err := x.idx.SearchInContext(ctx, req)
	if err != nil {
		return Result{}, fmt.Errorf("commentadminsvc: search: %w", err)
	}
	out := Result{Total: int64(total), Docs: make([]Doc, 0, len(res.Hits))}
	for _, h := range res.Hits {
		s, _ := h.Fields[fDoc].(string)
		d, _, err := decode([]byte(s))
		if err != nil {
			return Result{}, err
		}
		out.Docs = append(out.Docs, d)
	}
	return out, nil
}

// window returns the start of a recent time window holding at least want of
// q's total matches: a first guess that assumes the matches spread evenly over
// the index's time range, with room to spare, widened fourfold until it holds
// enough. Each try is a count. If no window short of everything does, it
// returns q's own start.
func (x *Index) window(ctx context.Context, text []query.Query, q Query, total, want uint64) (*int64, error) {
	var from *int64
	if q.From != 0 {
		from = &q.From
	}
	if !x.timed.Load() {
		return from, nil
	}
	lo, hi := float64(x.oldest.Load()), float64(x.newest.Load())
	if q.From != 0 {
		lo = max(lo, float64(q.From))
	}
	if q.To != 0 {
		hi = min(hi, float64(q.To)-1)
	}
	for width := (hi - lo + 1) * 4 * float64(want) / float64(total); hi-width > lo; width *= 4 {
		start := toInt64(hi - width)
		n, err := x.count(ctx, x.query(text, q, &start))
		if err != nil {
			return nil, err
		}
		if n >= want {
			return &start, nil
		}
	}
	return from, nil
}

// toInt64 converts f, clamping it to the int64 range.
func toInt64(f float64) int64 {
	switch {
	case f >= math.MaxInt64:
		return math.MaxInt64
	case f <= math.MinInt64:
		return math.MinInt64
	}
	return int64(f)
}

// count returns the number of matches of q, without sorting or loading them.
func (x *Index) count(ctx context.Context, q query.Query) (uint64, error) {
	req := bleve.NewSearchRequestOptions(q, 0, 0, false)
	req.Score = "none"
	res, err := x.idx.SearchInContext(ctx, req)
	if err != nil {
		return 0, err
	}
	return res.Total, nil
}

// query is the bleve query of q's text and filters, with create_time from
// from (nil: open) until q.To.
func (x *Index) query(text []query.Query, q Query, from *int64) query.Query {
	must := slices.Clone(text)
	term := func(field, value string) {
		t := bleve.NewTermQuery(value)
		t.SetField(field)
		must = append(must, t)
	}
	if q.VideoID != 0 {
		term(fVideo, key(q.VideoID))
	}
	if q.UserID != 0 {
		term(fUser, key(q.UserID))
	}
	if q.State != 0 {
		term(fState, strconv.Itoa(int(q.State)))
	}
	if q.RootID != 0 {
		term(fRoot, key(q.RootID))
	}
	if from != nil || q.To != 0 {
		var lo, hi *float64
		if from != nil {
			f := float64(*from)
			lo = &f
		}
		if q.To != 0 {
			t := float64(q.To)
			hi = &t
		}
		inclusive, exclusive := true, false
		r := bleve.NewNumericRangeInclusiveQuery(lo, hi, &inclusive, &exclusive)
		r.SetField(fCreateTime)
		must = append(must, r)
	}
	switch len(must) {
	case 0:
		return bleve.NewMatchAllQuery()
	case 1:
		return must[0]
	}
	return bleve.NewConjunctionQuery(must...)
}

// textQueries turns free text into one query per run, all of which must
// match. It builds term and phrase queries directly (never bleve's
// query-string syntax), so operators and odd characters are only text.
func (x *Index) textQueries(q string) []query.Query {
	q = strings.ToValidUTF8(q, " ")
	if utf8.RuneCountInString(q) > maxQueryRunes {
		q = string([]rune(q)[:maxQueryRunes])
	}
	var out []query.Query
	seen := map[string]bool{}
	for _, run := range runs(x.units.Analyze([]byte(q))) {
		if len(out) == maxQueryPhrases {
			break
		}
		k := strings.Join(run, " ")
		if len(run) == 0 || seen[k] {
			continue
		}
		seen[k] = true
		switch len(run) {
		case 1:
			t := bleve.NewTermQuery(run[0])
			t.SetField(fUnits)
			out = append(out, t)
		case 2:
			t := bleve.NewTermQuery(run[0] + run[1])
			t.SetField(fPairs)
			out = append(out, t)
		default:
			out = append(out, bleve.NewPhraseQuery(pairs(run), fPairs))
		}
	}
	return out
}

// Count returns the number of indexed comments.
func (x *Index) Count() (uint64, error) { return x.idx.DocCount() }

// Dir returns the directory of the index.
func (x *Index) Dir() string { return x.dir }

// Close closes the index. Every Upsert that returned is already on disk.
func (x *Index) Close() error {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.idx.Close()
}

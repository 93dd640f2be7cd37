package commentsvc

import (
	"cmp"
	"context"
	"encoding/binary"
	"maps"
	"math/rand/v2"
	"slices"
	"sort"
	"strconv"
	"time"
)

// The viewer's own part of a page (read.go's personalize) costs two store reads
// per request: their own held or very new comments, and which comments on the
// page they like. A reader of a hot video asks the same ids again and again, and
// both answers change only through that reader's own writes: their likes, and
// their comments being published or changing state. So both are kept in the
// shared byte cache (every replica of the role sees the same one), per viewer,
// under the viewer's generation: a random value that each such write replaces
// once it has committed, before it is acknowledged. A value is used only under
// the generation it was read under, so a reader's next read after their own
// write never finds what was kept before it, whichever replica answers, and a
// copy filled by a read that raced the write is filed under the old generation
// and never found again. Random rather than counted generations stay correct
// when the cache loses a generation key: a new one never repeats an old one.
//
// Kept per viewer and video:
//   - cl2:<viewer>:<video>: the comment ids asked about so far with whether the
//     viewer likes each, added to as other ids are asked (a likedSet, looked up
//     where it lies: a hot page's readers ask it on every read);
//   - co:<viewer>:<video>:<root>: that Own found nothing (pending, or newer than
//     ownRecent). Nothing found stays nothing until the viewer writes: ageing
//     only shrinks the answer. A non-empty answer is not kept.
const (
	viewerGenTTL  = 10 * time.Minute
	viewerDataTTL = time.Minute // shorter than the generation's, and a bound if a bump is lost
	// likedKeep bounds the ids remembered per viewer and video.
	likedKeep = 2000
)

func viewerGenKey(viewer int64) string { return "cg:" + strconv.FormatInt(viewer, 10) }

// likedKey's prefix names the value's format (cl: held varints in map order).
func likedKey(viewer, videoID int64) string {
	return "cl2:" + strconv.FormatInt(viewer, 10) + ":" + strconv.FormatInt(videoID, 10)
}

func ownKey(viewer, videoID, rootID int64) string {
	return "co:" + strconv.FormatInt(viewer, 10) + ":" + strconv.FormatInt(videoID, 10) + ":" + strconv.FormatInt(rootID, 10)
}

// viewerState is what the cache holds for one viewer's read of one list.
type viewerState struct {
	gen     []byte   // nil: caching is off for this read (the cache failed)
	liked   likedSet // known answers under gen
	ownNone bool     // Own is known to be empty under gen
}

// loadViewer reads the viewer's generation and their kept answers for a list in
// one round trip, creating the generation if there is none.
func (s *Service) loadViewer(ctx context.Context, viewer, videoID, rootID int64) viewerState {
	gk, lk, ok := viewerGenKey(viewer), likedKey(viewer, videoID), ownKey(viewer, videoID, rootID)
	got, err := s.kv.GetMany(ctx, []string{gk, lk, ok})
	if err != nil {
		return viewerState{}
	}
	st := viewerState{gen: got[gk]}
	if len(st.gen) == 0 {
		fresh := newGen()
		won, err := s.kv.SetNX(ctx, gk, fresh, viewerGenTTL)
		if err != nil {
			return viewerState{}
		}
		if won {
			return viewerState{gen: fresh} // nothing filed under a new generation yet
		}
		// Another read created it a moment ago.
		if st.gen, _, err = s.kv.Get(ctx, gk); err != nil || len(st.gen) == 0 {
			return viewerState{}
		}
		return st
	}
	if v, found := got[ok]; found && tagged(v, st.gen) {
		st.ownNone = true
	}
	if v, found := got[lk]; found && tagged(v, st.gen) {
		st.liked = readLiked(v[len(st.gen):])
	}
	return st
}

// tagged reports whether v was filed under gen.
func tagged(v, gen []byte) bool {
	return len(v) >= len(gen) && string(v[:len(gen)]) == string(gen)
}

// own returns the viewer's own comments on a list (store.Own), from the cache
// when it knows there are none.
func (s *Service) own(ctx context.Context, st viewerState, viewer, videoID, rootID int64) ([]int64, error) {
	if st.ownNone {
		return nil, nil
	}
	own, err := s.store.Own(ctx, videoID, viewer, rootID, s.now().Add(-ownRecent).UnixMilli())
	if err != nil || len(own) > 0 || st.gen == nil {
		return own, err
	}
	if err := s.kv.Set(ctx, ownKey(viewer, videoID, rootID), st.gen, viewerDataTTL); err != nil {
		s.log.WarnContext(ctx, "could not keep a viewer's own comments", "err", err)
	}
	return nil, nil
}

// liked returns the viewer's answers for ids (store.Liked), asking the store
// only about ids the cache does not know, and keeping the answers.
func (s *Service) liked(ctx context.Context, st viewerState, viewer, videoID int64, ids []int64) (likedSet, error) {
	var missing []int64
	for _, id := range ids {
		if _, known := st.liked.lookup(id); !known {
			missing = append(missing, id)
		}
	}
	if len(missing) == 0 {
		return st.liked, nil
	}
	found, err := s.store.Liked(ctx, viewer, missing)
	if err != nil {
		return nil, err
	}
	kept := st.liked
	if kept.len()+len(missing) > likedKeep {
		kept = nil
	}
	all := kept.with(missing, found)
	if st.gen != nil {
		v := append(append(make([]byte, 0, len(st.gen)+len(all)), st.gen...), all...)
		if err := s.kv.Set(ctx, likedKey(viewer, videoID), v, viewerDataTTL); err != nil {
			s.log.WarnContext(ctx, "could not keep a viewer's likes", "err", err)
		}
	}
	return all, nil
}

// viewerWrote gives the viewer a new generation: what was kept for them is not
// read again. Called after a write that changes their own part has committed,
// and before it is acknowledged.
func (s *Service) viewerWrote(ctx context.Context, viewer int64) {
	if err := s.kv.Set(ctx, viewerGenKey(viewer), newGen(), viewerGenTTL); err != nil {
		// The old generation may be read for up to viewerDataTTL; try to
		// remove it instead.
		s.log.WarnContext(ctx, "could not renew a viewer's cache generation", "viewer", viewer, "err", err)
		_ = s.kv.Delete(ctx, viewerGenKey(viewer))
	}
}

func newGen() []byte {
	return binary.BigEndian.AppendUint64(nil, rand.Uint64()|1) // never all zero
}

// likedSet holds answers to "does the viewer like comment id": one record per
// id, its 8 bytes big-endian and then 1 (liked) or 0, in increasing id order. It
// is the cached value as it is, so a read looks the page's ids up in it without
// decoding it into a map. The zero value knows nothing.
type likedSet []byte

const likedRecord = 9

// readLiked checks a cached value; a damaged one (cut short, or out of order)
// reads as nothing known.
func readLiked(b []byte) likedSet {
	if len(b)%likedRecord != 0 {
		return nil
	}
	l := likedSet(b)
	for i := 1; i < l.len(); i++ {
		if l.id(i-1) >= l.id(i) {
			return nil
		}
	}
	return l
}

func (l likedSet) len() int { return len(l) / likedRecord }

func (l likedSet) id(i int) int64 {
	return int64(binary.BigEndian.Uint64(l[i*likedRecord:]))
}

// lookup reports whether the viewer likes id, and whether the set knows.
func (l likedSet) lookup(id int64) (liked, known bool) {
	i, found := sort.Find(l.len(), func(i int) int { return cmp.Compare(id, l.id(i)) })
	if !found {
		return false, false
	}
	return l[i*likedRecord+8] == 1, true
}

// has reports whether the viewer likes id; unknown ids are not liked.
func (l likedSet) has(id int64) bool {
	liked, _ := l.lookup(id)
	return liked
}

// with returns a new set of l's answers and the answers found gives for ids
// (absent: not liked); ids' answers replace l's.
func (l likedSet) with(ids []int64, found map[int64]bool) likedSet {
	merged := make(map[int64]bool, l.len()+len(ids))
	for i := range l.len() {
		merged[l.id(i)] = l[i*likedRecord+8] == 1
	}
	for _, id := range ids {
		merged[id] = found[id]
	}
	return encodeLiked(merged)
}

// encodeLiked makes a set of the answers in liked.
func encodeLiked(liked map[int64]bool) likedSet {
	ids := slices.Sorted(maps.Keys(liked))
	out := make(likedSet, 0, len(ids)*likedRecord)
	for _, id := range ids {
		out = binary.BigEndian.AppendUint64(out, uint64(id))
		if liked[id] {
			out = append(out, 1)
		} else {
			out = append(out, 0)
		}
	}
	return out
}

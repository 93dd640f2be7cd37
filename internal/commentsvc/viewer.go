package commentsvc

import (
	"context"
	"encoding/binary"
	"math/rand/v2"
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
//   - cl:<viewer>:<video>: the comment ids asked about so far with whether the
//     viewer likes each, added to as other ids are asked;
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

func likedKey(viewer, videoID int64) string {
	return "cl:" + strconv.FormatInt(viewer, 10) + ":" + strconv.FormatInt(videoID, 10)
}

func ownKey(viewer, videoID, rootID int64) string {
	return "co:" + strconv.FormatInt(viewer, 10) + ":" + strconv.FormatInt(videoID, 10) + ":" + strconv.FormatInt(rootID, 10)
}

// viewerState is what the cache holds for one viewer's read of one list.
type viewerState struct {
	gen     []byte         // nil: caching is off for this read (the cache failed)
	liked   map[int64]bool // known answers under gen
	ownNone bool           // Own is known to be empty under gen
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
		st.liked = decodeLiked(v[len(st.gen):])
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

// liked returns which of ids the viewer likes (store.Liked), asking the store
// only about ids the cache does not know, and keeping the answers.
func (s *Service) liked(ctx context.Context, st viewerState, viewer, videoID int64, ids []int64) (map[int64]bool, error) {
	var missing []int64
	for _, id := range ids {
		if _, known := st.liked[id]; !known {
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
	all := st.liked
	if all == nil || len(all)+len(missing) > likedKeep {
		all = make(map[int64]bool, len(missing))
	}
	for _, id := range missing {
		all[id] = found[id]
	}
	if st.gen != nil {
		v := append([]byte(nil), st.gen...)
		if err := s.kv.Set(ctx, likedKey(viewer, videoID), encodeLiked(v, all), viewerDataTTL); err != nil {
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

// encodeLiked appends the answers to b: per id, its varint and 0 or 1.
func encodeLiked(b []byte, liked map[int64]bool) []byte {
	for id, yes := range liked {
		b = binary.AppendUvarint(b, uint64(id))
		if yes {
			b = append(b, 1)
		} else {
			b = append(b, 0)
		}
	}
	return b
}

// decodeLiked reads encodeLiked's answers; a damaged value reads as nothing known.
func decodeLiked(b []byte) map[int64]bool {
	out := map[int64]bool{}
	for len(b) > 0 {
		id, n := binary.Uvarint(b)
		if n <= 0 || n >= len(b) {
			return map[int64]bool{}
		}
		out[int64(id)] = b[n] == 1
		b = b[n+1:]
	}
	return out
}

package seed

import (
	"math/rand/v2"
)

// Random streams. Every phase draws from its own PCG stream of the run's seed, so
// a phase's data depends only on the seed and the sizes, never on how much
// randomness another phase used: the same flags give the same dataset.
const (
	streamUsers uint64 = iota + 1
	streamPermutation
	streamFollowShares
	streamFollows
	streamVideos
	streamVideoPopularity
	streamLikeShares
	streamLikes
	streamMessageShares
	streamMessages
	streamCommentVideos
	streamComments
	streamCommenters
)

func newRand(seed, stream uint64) *rand.Rand {
	return rand.New(rand.NewPCG(seed, stream))
}

// shares splits total items over n slots in proportion to random weights, exactly:
// the slots' shares always add up to total. The weights are the squares of
// exponential draws, a skewed but not extreme spread (most users follow a few,
// some follow many). It needs the weights' sum before the first share, so it draws
// them twice from the same stream instead of keeping n of them in memory.
type shares struct {
	rng   *rand.Rand
	n     int
	total int64
	sum   float64 // of all n weights
	cum   float64 // of the weights handed out so far
	i     int
	given int64
}

func newShares(seed, stream uint64, n int, total int64) *shares {
	r := newRand(seed, stream)
	sum := 0.0
	for range n {
		sum += weight(r)
	}
	return &shares{rng: newRand(seed, stream), n: n, total: total, sum: sum}
}

func weight(r *rand.Rand) float64 {
	e := r.ExpFloat64()
	return e * e
}

// next returns the next slot's share; called n times in all.
func (s *shares) next() int64 {
	s.i++
	s.cum += weight(s.rng)
	upto := s.total
	if s.i < s.n && s.sum > 0 {
		upto = min(int64(float64(s.total)*s.cum/s.sum), s.total)
	}
	d := max(upto-s.given, 0)
	s.given += d
	return d
}

// picker draws distinct items for one owner (a follower's followees, a liker's
// videos) from a Zipf distribution over popularity ranks, so a few items get most
// of the picks. When the popular items run out for an owner who wants many, it
// completes the set from a scan at a random place, so asking for up to every
// allowed item always ends.
type picker struct {
	rng   *rand.Rand
	zipf  *rand.Zipf // nil when there is at most one rank
	byRnk []int32    // item at each popularity rank
	n     int        // items in all (the scan's range)
}

// zipfS is the Zipf exponent: with s = 1.1 the most popular item of a million gets
// about 8% of the picks and the thousandth 0.04%, the long tail typical of social
// graphs.
const zipfS = 1.1

func newPicker(rng *rand.Rand, byRank []int32, n int) *picker {
	p := &picker{rng: rng, byRnk: byRank, n: n}
	if len(byRank) > 1 {
		p.zipf = rand.NewZipf(rng, zipfS, 1, uint64(len(byRank)-1))
	}
	return p
}

// fill adds items to set until it holds want items or no allowed item is left;
// allowed says whether an item may be picked (not the owner itself).
func (p *picker) fill(set map[int32]bool, want int, allowed func(int32) bool) {
	if len(set) >= want || len(p.byRnk) == 0 {
		return
	}
	for attempts := 4*(want-len(set)) + 64; attempts > 0 && len(set) < want; attempts-- {
		rank := 0
		if p.zipf != nil {
			rank = int(p.zipf.Uint64())
		}
		if it := p.byRnk[rank]; !set[it] && allowed(it) {
			set[it] = true
		}
	}
	if len(set) >= want {
		return
	}
	start := p.rng.IntN(p.n)
	for k := 0; k < p.n && len(set) < want; k++ {
		it := int32((start + k) % p.n)
		if !set[it] && allowed(it) {
			set[it] = true
		}
	}
}

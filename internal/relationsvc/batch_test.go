package relationsvc

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestCheckBatch: repeats go, first-seen order stays, on both sides of
// smallBatch (a scan below it, a map above), and a bad id refuses the batch.
func TestCheckBatch(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{0, 1, 2, 30, smallBatch, smallBatch + 1, 300, MaxBatch} {
		ids := make([]int64, n)
		for i := range ids {
			ids[i] = 1 + r.Int64N(int64(n)/2+1) // about half of them repeats
		}
		var want []int64
		for _, id := range ids {
			if !slices.Contains(want, id) {
				want = append(want, id)
			}
		}
		got, err := checkBatch(ids)
		if err != nil || !slices.Equal(got, want) {
			t.Fatalf("%d ids: got %v, %v; want %v", n, got, err, want)
		}
	}
	seq := func(n int) []int64 {
		ids := make([]int64, n)
		for i := range ids {
			ids[i] = int64(i + 1)
		}
		return ids
	}
	refused := map[string][]int64{
		"a zero id":            {5, 0, 6},
		"a negative id, big":   append(seq(smallBatch+1), -1),
		"more than MaxBatch":   seq(MaxBatch + 1),
		"an id past the limit": {1, 1 << 62},
	}
	for name, ids := range refused {
		if _, err := checkBatch(ids); err == nil {
			t.Errorf("%s: the batch was accepted", name)
		}
	}
}

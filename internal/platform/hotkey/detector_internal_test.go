package hotkey

import (
	"fmt"
	"testing"
)

// TestFullShardAdmitsFrequentKeyDespiteNoise feeds one shard far more one-off keys than
// its map holds, enough that the sketch's counters average about 30, then a frequent key.
// Admitting on the raw estimate would let lucky one-off keys fill the reserved room before
// the frequent key arrives; the noise margin must keep them out.
func TestFullShardAdmitsFrequentKeyDespiteNoise(t *testing.T) {
	d := NewDetector(DetectorOptions{MaxKeysPerBucket: 16 * shardsPerBucket}) // 16 per shard, 2 reserved
	s := &d.ring[0].shards[0]
	for i := range 60_000 {
		d.add(s, 0, fmt.Sprint("noise-", i))
	}
	if len(s.counts) != d.shardPlain {
		t.Fatalf("%d keys after one-off noise, want only the %d unreserved", len(s.counts), d.shardPlain)
	}
	for range 40 {
		d.add(s, 0, "frequent")
	}
	if c := s.counts["frequent"]; c < 40 {
		t.Fatalf("frequent key counted %d times, want at least its 40", c)
	}
	if len(s.counts) > d.shardCap {
		t.Fatalf("%d keys in a shard of %d", len(s.counts), d.shardCap)
	}
	if got := s.overflow.Load(); got < 60_000-uint64(d.shardPlain) {
		t.Fatalf("overflow = %d, want every untracked access counted", got)
	}
}

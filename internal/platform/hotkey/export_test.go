package hotkey

// TrackedKeys returns how many distinct keys the Detector's buckets hold in total, so
// tests can check the memory bound.
func (d *Detector) TrackedKeys() int {
	n := 0
	for b := range d.ring {
		for i := range d.ring[b].shards {
			s := &d.ring[b].shards[i]
			s.mu.Lock()
			n += len(s.counts)
			s.mu.Unlock()
		}
	}
	return n
}

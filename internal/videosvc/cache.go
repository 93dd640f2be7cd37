package videosvc

import (
	"context"
	"time"

	"github.com/mdouyin/mdouyin/internal/platform/keep"
)

// Limits of KeepWorkCounts.
const (
	// keptWorksTTL bounds what a writer elsewhere (a repair run) leaves
	// stale; publishing through this process drops the author's count at once.
	keptWorksTTL = time.Second
	// keptWorksMax bounds the users whose work counts are kept.
	keptWorksMax = 100_000
)

// KeepWorkCounts returns store with WorkCounts answered from this process's
// memory where it can (package keep). It is for the one-process placement
// only, where every publish passes through this decorator and drops its
// author's count before it is acknowledged; replicas of the role would miss
// each other's publishes.
//
// Every feed page shows some thirty authors' work counts.
func KeepWorkCounts(store Store) Store {
	return &worksCache{Store: store, works: keep.New[int64, int64](keptWorksTTL, keptWorksMax, nil)}
}

type worksCache struct {
	Store
	works *keep.Table[int64, int64]
}

func (c *worksCache) Create(ctx context.Context, v *Video) error {
	defer c.works.Change(v.AuthorID)()
	return c.Store.Create(ctx, v)
}

func (c *worksCache) WorkCounts(ctx context.Context, ids []int64) (map[int64]int64, error) {
	return keep.Read(c.works, ids, func(missing []int64) (map[int64]int64, error) {
		return c.Store.WorkCounts(ctx, missing)
	})
}

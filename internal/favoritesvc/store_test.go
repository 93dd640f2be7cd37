package favoritesvc_test

import (
	"context"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/mdouyin/mdouyin/internal/favoritesvc"
)

// TestStoreRacesOnSameFacts hammers a handful of (user, video) facts with likes and
// unlikes from many goroutines at once, alone and in batches (Apply): the same
// fact inserted and deleted concurrently, users liking each other's videos,
// self-likes. On MySQL this makes
// InnoDB pick deadlock victims (two inserts of one key waiting on its delete), which
// the store must run again; on both engines every count must end equal to the facts.
func TestStoreRacesOnSameFacts(t *testing.T) {
	for name, open := range databases {
		t.Run(name, func(t *testing.T) {
			d := open(t)
			store, err := favoritesvc.NewSQLStore(context.Background(), d)
			if err != nil {
				t.Fatal(err)
			}
			f := &fixture{db: d}
			ctx := context.Background()
			const (
				users      = 4
				videos     = 3
				goroutines = 32
				ops        = 60
			)
			author := func(video int64) int64 { return video%users + 1 }
			var wg sync.WaitGroup
			errc := make(chan error, goroutines)
			for g := range goroutines {
				wg.Add(1)
				go func() {
					defer wg.Done()
					rng := rand.New(rand.NewPCG(uint64(g), 7))
					for i := range ops {
						random := func() favoritesvc.Write {
							u, v := int64(1+rng.IntN(users)), int64(100+rng.IntN(videos))
							return favoritesvc.Write{Like: favoritesvc.Like{UserID: u, VideoID: v, AuthorID: author(v), CreatedAt: int64(i)}, Unlike: rng.IntN(2) == 0}
						}
						var err error
						switch w := random(); {
						case g%2 == 1: // half the goroutines write batches
							batch := []favoritesvc.Write{w, random(), random()}
							_, err = store.Apply(ctx, batch)
						case w.Unlike:
							_, err = store.Unlike(ctx, w.Like.UserID, w.Like.VideoID)
						default:
							_, err = store.Like(ctx, w.Like)
						}
						if err != nil {
							errc <- err
							return
						}
					}
				}()
			}
			wg.Wait()
			close(errc)
			for err := range errc {
				t.Fatal(err)
			}
			f.audit(t)
		})
	}
}

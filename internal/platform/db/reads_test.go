package db_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/mdouyin/mdouyin/internal/platform/db"
	"github.com/mdouyin/mdouyin/internal/platform/testenv"
)

func TestReads(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { testReads(t, open(t, freshSQLite(t))) })
	t.Run("mysql", func(t *testing.T) {
		server := testenv.MySQLDSN(t)
		testReads(t, open(t, freshMySQL(t, server)))
	})
}

// testReads checks that padded IN lists and rounded limits read exactly the rows
// a plain query reads, for every list length up to 40, from many goroutines at
// once (the statements are prepared by whichever caller comes first).
func testReads(t *testing.T, d *db.DB) {
	ctx := context.Background()
	if _, err := d.ExecContext(ctx, `CREATE TABLE nums (n BIGINT NOT NULL PRIMARY KEY, sq BIGINT NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	for n := int64(1); n <= 50; n++ {
		if _, err := d.ExecContext(ctx, `INSERT INTO nums (n, sq) VALUES (?, ?)`, n, n*n); err != nil {
			t.Fatal(err)
		}
	}
	reads := db.NewReads(d)
	var wg sync.WaitGroup
	errs := make(chan string, 200)
	for worker := range 4 {
		wg.Go(func() {
			for size := 1; size <= 40; size++ {
				// ids: size numbers from worker+1 on, and one that has no row.
				ids := []int64{999}
				for i := range size - 1 {
					ids = append(ids, int64(worker+1+i))
				}
				in, args := reads.In(ids)
				rows, err := reads.Query(ctx, `SELECT n, sq FROM nums WHERE n IN (`+in+`) ORDER BY n`, args...)
				if err != nil {
					errs <- err.Error()
					return
				}
				var got []int64
				for rows.Next() {
					var n, sq int64
					if err := rows.Scan(&n, &sq); err != nil {
						errs <- err.Error()
					}
					if sq != n*n {
						errs <- "wrong row"
					}
					got = append(got, n)
				}
				rows.Close()
				want := slices.Sorted(slices.Values(ids[1:]))
				if !slices.Equal(got, want) && !(len(got) == 0 && len(want) == 0) {
					errs <- fmt.Sprintf("IN list of %d: got %v, want %v", size, got, want)
				}

				// A limit reads at least size rows, in order.
				rows, err = reads.Query(ctx, `SELECT n FROM nums ORDER BY n DESC`+reads.Limit(size))
				if err != nil {
					errs <- err.Error()
					return
				}
				var first []int64
				for len(first) < size && rows.Next() {
					var n int64
					if err := rows.Scan(&n); err != nil {
						errs <- err.Error()
					}
					first = append(first, n)
				}
				rows.Close()
				if len(first) != size || first[0] != 50 || first[size-1] != int64(51-size) {
					errs <- fmt.Sprintf("limit %d: got %v", size, first)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

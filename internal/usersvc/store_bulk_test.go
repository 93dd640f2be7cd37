package usersvc_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/mdouyin/mdouyin/internal/platform/svctest"

	"github.com/mdouyin/mdouyin/internal/usersvc"
)

// bulkTestDBs opens an empty database on each engine under test; MySQL is opened
// inside the subtest, so SQLite runs without it.
var bulkTestDBs = svctest.Databases("usersvc_bulk")

func TestBulkCreate(t *testing.T) {
	for name, open := range bulkTestDBs {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			s, err := usersvc.NewSQLStore(ctx, open(t))
			if err != nil {
				t.Fatal(err)
			}
			if empty, err := s.Empty(ctx); err != nil || !empty {
				t.Fatalf("new store: empty %v, %v", empty, err)
			}
			account := func(i int) *usersvc.Account {
				n := fmt.Sprintf("Bulk_%04d", i)
				return &usersvc.Account{ID: int64(1000 + i), Name: n, NameKey: usersvc.NameKey(n), PasswordHash: "h", CreatedAt: int64(i)}
			}
			// More rows than one statement takes, so the call splits.
			var batch []*usersvc.Account
			for i := range 1203 {
				batch = append(batch, account(i))
			}
			if err := s.BulkCreate(ctx, batch); err != nil {
				t.Fatal(err)
			}
			if err := s.BulkCreate(ctx, nil); err != nil {
				t.Fatal(err)
			}
			for _, i := range []int{0, 499, 500, 1202} {
				a, err := s.ByNameKey(ctx, usersvc.NameKey(account(i).Name))
				if err != nil || a.ID != int64(1000+i) || a.Name != account(i).Name || a.PasswordHash != "h" {
					t.Fatalf("account %d: %+v, %v", i, a, err)
				}
			}
			if empty, err := s.Empty(ctx); err != nil || empty {
				t.Fatalf("filled store: empty %v, %v", empty, err)
			}
			// A taken name fails the whole call: the new account before it is not kept.
			fresh := account(5000)
			if err := s.BulkCreate(ctx, []*usersvc.Account{fresh, {ID: 99999, Name: "BULK_0001", NameKey: usersvc.NameKey("BULK_0001"), PasswordHash: "h"}}); err == nil {
				t.Fatal("a taken name was accepted")
			}
			if _, err := s.ByNameKey(ctx, fresh.NameKey); err != usersvc.ErrNotFound {
				t.Fatalf("a failed bulk call kept a row: %v", err)
			}
		})
	}
}

package nodeid_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strconv"
	"testing"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/mdouyin/mdouyin/internal/errs"
	"github.com/mdouyin/mdouyin/internal/platform/discovery/etcdtest"
	"github.com/mdouyin/mdouyin/internal/platform/nodeid"
	"github.com/mdouyin/mdouyin/kitex_gen/base"
)

const (
	prefix = "mdouyin/nodeid"
	ttl    = 2 * time.Second
	// waitFor bounds polls for what should happen within a TTL or two, or an etcd
	// restart.
	waitFor = 20 * time.Second
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func acquire(t *testing.T, cli *clientv3.Client, max int, opts ...nodeid.Option) (*nodeid.Lease, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	l, err := nodeid.Acquire(ctx, cli, prefix, max, ttl, quiet, opts...)
	if err == nil {
		t.Cleanup(func() { l.Release(context.Background()) })
	}
	return l, err
}

func mustAcquire(t *testing.T, cli *clientv3.Client, max int, opts ...nodeid.Option) *nodeid.Lease {
	t.Helper()
	l, err := acquire(t, cli, max, opts...)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Valid(); err != nil {
		t.Fatalf("fresh lease: %v", err)
	}
	return l
}

func TestNumbersAreDistinctAndExhaust(t *testing.T) {
	cli := etcdtest.Start(t).Client(t)
	a := mustAcquire(t, cli, 1, nodeid.WithCooldown(0))
	b := mustAcquire(t, cli, 1, nodeid.WithCooldown(0))
	if a.Node() != 0 || b.Node() != 1 {
		t.Fatalf("nodes %d and %d, want 0 and 1", a.Node(), b.Node())
	}
	_, err := acquire(t, cli, 1, nodeid.WithCooldown(0))
	if !errors.Is(err, nodeid.ErrExhausted) {
		t.Fatalf("third lease of two numbers: %v, want ErrExhausted", err)
	}
}

func TestReleasedNumberIsReusedAfterCooldown(t *testing.T) {
	cli := etcdtest.Start(t).Client(t)
	const cooldown = 2 * time.Second
	a := mustAcquire(t, cli, 1, nodeid.WithCooldown(cooldown))
	mustAcquire(t, cli, 1, nodeid.WithCooldown(cooldown))
	if err := a.Release(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := a.Valid(); !errors.Is(err, nodeid.ErrReleased) {
		t.Fatalf("Valid after Release: %v", err)
	}
	released := time.Now()
	if _, err := acquire(t, cli, 1); !errors.Is(err, nodeid.ErrExhausted) {
		t.Fatalf("acquire right after a release: %v; want the number kept for the cooldown", err)
	}
	var c *nodeid.Lease
	poll(t, "released number claimed again", func() bool {
		var err error
		c, err = acquire(t, cli, 1)
		return err == nil
	})
	if c.Node() != 0 {
		t.Fatalf("got node %d, want the released 0", c.Node())
	}
	t.Logf("released number free again after %v (cooldown %v)", time.Since(released).Round(10*time.Millisecond), cooldown)
}

// TestValidThroughEtcdOutage checks that a holder goes on while its lease cannot
// have expired, stops once it could have, and recovers when etcd returns.
func TestValidThroughEtcdOutage(t *testing.T) {
	ec := etcdtest.Start(t)
	l := mustAcquire(t, ec.Client(t), 3, nodeid.WithCooldown(0))
	node := l.Node()

	ec.Stop()
	stopped := time.Now()
	if err := l.Valid(); err != nil {
		t.Fatalf("Valid right after etcd stopped: %v; the lease cannot have expired yet", err)
	}
	var err error
	poll(t, "Valid fails", func() bool { err = l.Valid(); return err != nil })
	t.Logf("Valid failed %v after etcd stopped: %v", time.Since(stopped).Round(10*time.Millisecond), err)
	if !errors.Is(err, nodeid.ErrExpired) || errs.CodeOf(err) != base.ErrCode_Unavailable {
		t.Fatalf("Valid: %v, want ErrExpired carrying Unavailable", err)
	}

	ec.Restart()
	restarted := time.Now()
	poll(t, "Valid again after etcd restarted", func() bool { return l.Valid() == nil })
	t.Logf("valid again %v after etcd restarted", time.Since(restarted).Round(10*time.Millisecond))
	if l.Node() != node {
		t.Fatalf("node %d after the restart, want %d: the lease outlived the outage", l.Node(), node)
	}
}

// TestLostLeaseClaimsAgain checks that a holder whose lease expired claims its old
// number when it is free and another one when it is not.
func TestLostLeaseClaimsAgain(t *testing.T) {
	ec := etcdtest.Start(t)
	cli := ec.Client(t)
	l := mustAcquire(t, cli, 3, nodeid.WithCooldown(0), nodeid.WithHolder("me"))
	node := l.Node()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	// Free: the lease expires and nobody takes the number.
	revoke(t, ctx, cli, node)
	poll(t, "old number claimed again", func() bool { return l.Valid() == nil && holder(t, ctx, cli, node) == "me" })
	if l.Node() != node {
		t.Fatalf("node %d, want the free old number %d", l.Node(), node)
	}

	// Taken: another process claims the number as the lease expires.
	key := prefix + "/" + strconv.Itoa(node)
	old := leaseOf(t, ctx, cli, node)
	g, err := cli.Grant(ctx, 60)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cli.Put(ctx, key, "intruder", clientv3.WithLease(g.ID)); err != nil {
		t.Fatal(err)
	}
	// On a loaded machine the holder's lease may already have lapsed and been
	// replaced; gone is what this step needs either way.
	if _, err := cli.Revoke(ctx, old); err != nil && !errors.Is(err, rpctypes.ErrLeaseNotFound) {
		t.Fatal(err)
	}
	poll(t, "another number claimed", func() bool { return l.Valid() == nil && l.Node() != node })
	if got := holder(t, ctx, cli, l.Node()); got != "me" {
		t.Fatalf("node %d is held by %q", l.Node(), got)
	}
	if got := holder(t, ctx, cli, node); got != "intruder" {
		t.Fatalf("the old number is held by %q, want the intruder kept", got)
	}
}

func revoke(t *testing.T, ctx context.Context, cli *clientv3.Client, node int) {
	t.Helper()
	if _, err := cli.Revoke(ctx, leaseOf(t, ctx, cli, node)); err != nil {
		t.Fatal(err)
	}
}

func leaseOf(t *testing.T, ctx context.Context, cli *clientv3.Client, node int) clientv3.LeaseID {
	t.Helper()
	resp, err := cli.Get(ctx, prefix+"/"+strconv.Itoa(node))
	if err != nil || len(resp.Kvs) != 1 {
		t.Fatalf("node %d's key: %v %v", node, resp, err)
	}
	return clientv3.LeaseID(resp.Kvs[0].Lease)
}

func holder(t *testing.T, ctx context.Context, cli *clientv3.Client, node int) string {
	t.Helper()
	resp, err := cli.Get(ctx, prefix+"/"+strconv.Itoa(node))
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Kvs) == 0 {
		return ""
	}
	return string(resp.Kvs[0].Value)
}

func poll(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, waitFor)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

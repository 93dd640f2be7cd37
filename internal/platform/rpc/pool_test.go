package rpc

import (
	"context"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloudwego/kitex/client"
	"github.com/cloudwego/kitex/pkg/remote"
	"github.com/cloudwego/kitex/pkg/remote/trans/netpoll"

	"github.com/mdouyin/mdouyin/kitex_gen/user"
	"github.com/mdouyin/mdouyin/kitex_gen/user/userservice"
)

// countingDialer counts the connections a client opens.
type countingDialer struct {
	remote.Dialer
	dials atomic.Int64
}

func (d *countingDialer) DialTimeout(network, address string, timeout time.Duration) (net.Conn, error) {
	d.dials.Add(1)
	return d.Dialer.DialTimeout(network, address, timeout)
}

// gatedUsers holds every GetProfiles call until the test opens the gate for
// the round, so that a round's calls are all in flight at once, each on a
// connection of its own.
type gatedUsers struct {
	user.UserService
	mu      sync.Mutex
	cond    *sync.Cond
	waiting int
	round   int
}

func (g *gatedUsers) GetProfiles(context.Context, *user.GetProfilesRequest) (*user.GetProfilesResponse, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	r := g.round
	g.waiting++
	g.cond.Broadcast()
	for g.round == r {
		g.cond.Wait()
	}
	return &user.GetProfilesResponse{}, nil
}

// release waits until n calls are held, then lets them all answer.
func (g *gatedUsers) release(n int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for g.waiting < n {
		g.cond.Wait()
	}
	g.waiting = 0
	g.round++
	g.cond.Broadcast()
}

// TestConnectionsAreReused: a client with 64 calls in flight at a time, round
// after round, opens its 64 connections once and keeps them. With Kitex's
// default pool (10 idle per address) it closed 54 of them after every round
// and dialled them again for the next.
func TestConnectionsAreReused(t *testing.T) {
	const inFlight, rounds = 64, 10
	impl := &gatedUsers{}
	impl.cond = sync.NewCond(&impl.mu)
	addr, _ := serve(t, "127.0.0.1:0", impl)
	dialer := &countingDialer{Dialer: netpoll.NewDialer()}
	c, err := userservice.NewClient("user", append(ClientOptions("user", []string{addr}, 30*time.Second), client.WithDialer(dialer))...)
	if err != nil {
		t.Fatal(err)
	}
	for range rounds {
		var wg sync.WaitGroup
		errs := make(chan error, inFlight)
		for range inFlight {
			wg.Go(func() {
				if _, err := c.GetProfiles(context.Background(), &user.GetProfilesRequest{UserIds: []int64{1}}); err != nil {
					errs <- err
				}
			})
		}
		impl.release(inFlight)
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
	}
	// Every round needs inFlight connections; all but the first find them in
	// the pool. MinIdlePerAddress may add a connection or two of its own.
	if n := dialer.dials.Load(); n > inFlight+int64(Pool.MinIdlePerAddress) {
		t.Errorf("%d rounds of %d concurrent calls opened %d connections; want %d, opened once and kept", rounds, inFlight, n, inFlight)
	}
	t.Logf("%d rounds of %d concurrent calls: %d connections dialled", rounds, inFlight, dialer.dials.Load())
}

// Package etcdtest runs a real, single-member etcd inside a test process, so the
// packages that lean on etcd (discovery, node numbers) are tested against the
// server they meet in a cluster rather than a fake. It needs nothing installed.
package etcdtest

import (
	"net/url"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"

	"github.com/mdouyin/mdouyin/internal/platform/testenv"
)

// startTimeout bounds how long a member may take to elect itself leader.
const startTimeout = 30 * time.Second

// Server is an embedded etcd member listening on loopback ports, with its data in a
// test's temporary directory. Stop and Restart let a test take etcd away and bring
// it back with the same data and addresses, as an operator restarting it would.
type Server struct {
	t          testing.TB
	dir        string
	clientURL  url.URL
	peerURL    url.URL
	etcd       *embed.Etcd
	stopped    bool
	startCount int
}

// Start starts an etcd member on free loopback ports and stops it when the test
// ends.
func Start(t testing.TB) *Server {
	t.Helper()
	s := &Server{
		t:         t,
		dir:       t.TempDir(),
		clientURL: url.URL{Scheme: "http", Host: testenv.FreeAddr(t)},
		peerURL:   url.URL{Scheme: "http", Host: testenv.FreeAddr(t)},
	}
	s.start()
	t.Cleanup(s.Stop)
	return s
}

// Endpoints starts an etcd member for the test and returns its client endpoints.
func Endpoints(t testing.TB) []string {
	t.Helper()
	return Start(t).Endpoints()
}

// Endpoints returns the member's client endpoints.
func (s *Server) Endpoints() []string { return []string{s.clientURL.String()} }

// Client returns a client of the member, closed when the test ends. Its dial
// timeout is short so that calls made while the member is stopped fail quickly.
func (s *Server) Client(t testing.TB) *clientv3.Client {
	t.Helper()
	c, err := clientv3.New(clientv3.Config{
		Endpoints:   s.Endpoints(),
		DialTimeout: 2 * time.Second,
	})
	if err != nil {
		t.Fatalf("etcdtest: client: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// Stop stops the member, keeping its data. Stopping a stopped member does nothing.
func (s *Server) Stop() {
	if s.stopped {
		return
	}
	s.stopped = true
	s.etcd.Close()
}

// Restart starts the stopped member again on the same ports and data directory.
func (s *Server) Restart() {
	s.t.Helper()
	if !s.stopped {
		s.t.Fatal("etcdtest: Restart of a running member")
	}
	s.start()
}

func (s *Server) start() {
	s.t.Helper()
	cfg := embed.NewConfig()
	cfg.Name = "etcdtest"
	cfg.Dir = s.dir
	cfg.ListenClientUrls = []url.URL{s.clientURL}
	cfg.AdvertiseClientUrls = []url.URL{s.clientURL}
	cfg.ListenPeerUrls = []url.URL{s.peerURL}
	cfg.AdvertisePeerUrls = []url.URL{s.peerURL}
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	cfg.LogLevel = "error"
	// A single member has no one to wait for: short raft ticks make it elect itself
	// (at start and restart) and stop sooner. Stop still waits about 5 s for open
	// watch and keep-alive streams to end.
	cfg.TickMs, cfg.ElectionMs = 10, 100
	if s.startCount > 0 {
		cfg.ClusterState = embed.ClusterStateFlagExisting
	}
	s.startCount++
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		s.t.Fatalf("etcdtest: start: %v", err)
	}
	select {
	case <-e.Server.ReadyNotify():
	case err := <-e.Err():
		e.Close()
		s.t.Fatalf("etcdtest: member failed: %v", err)
	case <-time.After(startTimeout):
		e.Close()
		s.t.Fatalf("etcdtest: member not ready within %v", startTimeout)
	}
	s.etcd, s.stopped = e, false
}

// Package discovery lets role processes find each other through etcd: a role's
// Kitex server registers its address under a lease that it keeps alive, and a
// role's Kitex clients resolve their peers' replicas from etcd and balance calls
// across them.
//
// The layout in etcd is kitex-contrib/registry-etcd's, so its resolver, etcdctl
// and any other Kitex tooling read our registrations unchanged:
//
//	<prefix>/<role>/<host:port>  →  {"network":"tcp","address":"host:port","weight":10,"tags":null}
//
// We write the registry and resolver ourselves rather than use that module's
// because its lease TTL can only be set through a process-wide environment
// variable (60 s by default, far too long for a dead replica to linger), it dials
// an etcd client per registry and resolver that nothing can close, and a failed
// first registration makes the Kitex server exit. Here one etcd client per process
// is shared by the registry, the resolver and the node-number lease
// (internal/platform/nodeid), and the owner closes it.
package discovery

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// DefaultPrefix is registry-etcd's key prefix.
const DefaultPrefix = "kitex/registry-etcd"

// Dial returns an etcd client of endpoints for one process to share. It does not
// wait for etcd: a role that starts during an etcd outage comes up and registers
// once etcd answers.
func Dial(endpoints []string) (*clientv3.Client, error) {
	if len(endpoints) == 0 {
		return nil, errors.New("discovery: no etcd endpoints")
	}
	c, err := clientv3.New(clientv3.Config{
		Endpoints:            endpoints,
		DialTimeout:          5 * time.Second,
		DialKeepAliveTime:    10 * time.Second,
		DialKeepAliveTimeout: 3 * time.Second,
	})
	if err != nil {
		return nil, fmt.Errorf("discovery: etcd client for %s: %w", strings.Join(endpoints, ","), err)
	}
	return c, nil
}

// instance is the value stored for one registered replica (registry-etcd's
// instanceInfo).
type instance struct {
	Network string            `json:"network"`
	Address string            `json:"address"`
	Weight  int               `json:"weight"`
	Tags    map[string]string `json:"tags"`
}

func (i instance) encode() (string, error) {
	b, err := json.Marshal(i)
	return string(b), err
}

// serviceKey is where role's replicas are listed; replicaKey is one replica's entry.
func serviceKey(prefix, role string) string       { return prefix + "/" + role + "/" }
func replicaKey(prefix, role, addr string) string { return serviceKey(prefix, role) + addr }

// callTimeout bounds each etcd request made here, so a vanished etcd costs a
// bounded wait rather than a hung goroutine.
const callTimeout = 3 * time.Second

func withTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, callTimeout)
}

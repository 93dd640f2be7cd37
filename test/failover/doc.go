//go:build failover

// Package failover runs a whole mdouyin cluster as real processes (two replicas
// of every role, two gateways) over its own Redis, NATS JetStream, etcd and S3
// server and a fresh MariaDB database, drives it with a steady mixed load, and
// takes pieces away under that load: one replica of each role killed with
// SIGKILL, Redis stopped, NATS stopped, the user role stopped entirely. It checks
// that errors stay few and stop soon after, that no 5xx appears, and that no
// acknowledged write is lost and every count equals its facts once the
// cluster settles.
//
// The tests carry the build tag `failover`, so `go test ./...` leaves them out:
//
//	go test -tags failover -count=1 -timeout 20m ./test/failover/
//
// They need MDOUYIN_TEST_MYSQL_DSN (a MariaDB/MySQL server; the test makes and
// drops its own database), redis-server on the PATH, ffmpeg, and Go to build
// the binaries (mdouyin, and nats-server at the version go.mod pins). Under
// CI=true anything missing fails the run instead of skipping it.
// MDOUYIN_FAILOVER_LOG_DIR keeps every process's log in that directory.
package failover

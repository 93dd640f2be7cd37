//go:build crash

// Package crash kills mdouyin with SIGKILL (kill -9) in the middle of a mixed
// write load, starts it again on the same data, and checks that it lost nothing
// it had acknowledged and left nothing half-done, cycle after cycle, in both
// placements.
//
// Each cycle: many virtual users register, publish, like and unlike, follow and
// unfollow, comment, reply and delete, and send messages as fast as the server
// answers, each keeping a ledger of what was acknowledged (status_code 0) and
// what was still in flight when the kill came (its outcome unknown). After a
// random delay the server (one process) or a random role process (a cluster,
// gateways included) is killed; `mdouyin check` then compares every stored
// count with its facts, the process starts again, and every list and count is
// read back through the API: every acknowledged write is there, every
// acknowledged removal is gone, a write of unknown outcome is either wholly
// there or wholly absent, and every count equals the facts it counts.
//
// The tests carry the build tag `crash`, so `go test ./...` leaves them out:
//
//	go test -tags crash -count=1 -v ./test/crash/                       # both placements
//	go test -tags crash -count=1 -v -run TestCrashOneProcess ./test/crash/
//
// Settings: CRASH_CYCLES (one process, default 10), CRASH_CLUSTER_CYCLES
// (default 8), CRASH_SEED (the random choices of a run, logged at its start, to
// replay a failure), CRASH_LOG_DIR (keeps the one-process server's log there,
// and the cluster's run directory and database; a failed cluster run keeps its
// run directory anyway). The one-process test needs Go and ffmpeg; the cluster test
// also needs MDOUYIN_TEST_MYSQL_DSN (a MariaDB/MySQL server; deploy/cluster.sh
// makes and drops its own database and runs its own Redis, NATS, etcd and S3).
// Under CI=true anything missing fails the run instead of skipping it.
package crash

// Command etcd is the etcd server built from the etcd module this repository
// already requires (go.etcd.io/etcd/server/v3), so `make cluster-up` needs no
// etcd package from the system: Debian's etcd-server is older than the client
// the roles use.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }

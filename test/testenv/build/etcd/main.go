// Command etcd is etcd's own main, wrapped so the harness can build it from
// the module proxy.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }

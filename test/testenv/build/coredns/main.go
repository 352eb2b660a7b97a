// Command coredns is CoreDNS v1.12.1 with only the plugins the playground's
// two Corefiles use: the host cluster's DNS on real nodes (realnode/dns.go)
// and vCluster v0.34's in-tenant CoreDNS (its pkg/coredns template, as the
// image coredns/coredns:1.12.1 runs it). Upstream's main links every plugin,
// the AWS, Azure and Google Cloud SDKs and the etcd client among them;
// those took most of a cold build (docs/performance.md).
package main

import (
	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/coremain"

	_ "github.com/coredns/coredns/plugin/cache"
	_ "github.com/coredns/coredns/plugin/errors"
	_ "github.com/coredns/coredns/plugin/forward"
	_ "github.com/coredns/coredns/plugin/health"
	_ "github.com/coredns/coredns/plugin/hosts"
	_ "github.com/coredns/coredns/plugin/kubernetes"
	_ "github.com/coredns/coredns/plugin/loadbalance"
	_ "github.com/coredns/coredns/plugin/log"
	_ "github.com/coredns/coredns/plugin/loop"
	_ "github.com/coredns/coredns/plugin/metrics"
	_ "github.com/coredns/coredns/plugin/ready"
	_ "github.com/coredns/coredns/plugin/reload"
	_ "github.com/coredns/coredns/plugin/rewrite"
)

// directives are upstream's (core/dnsserver/zdirectives.go) restricted to
// the plugins above, in upstream's order, which is the order they run in.
var directives = []string{
	"reload", "ready", "health", "prometheus", "errors", "log", "loadbalance",
	"cache", "rewrite", "hosts", "kubernetes", "loop", "forward",
}

func main() {
	dnsserver.Directives = directives
	coremain.Run()
}

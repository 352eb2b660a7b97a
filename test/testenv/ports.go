package testenv

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"syscall"
)

// Ports fixes the ports of the playground's parts; a zero field means "pick a
// free one". Fixed ports are checked before anything starts, so a clash
// gives one clear error instead of a half-started playground.
type Ports struct {
	Etcd          int `json:"etcd,omitempty"`
	EtcdPeer      int `json:"etcdPeer,omitempty"`
	APIServer     int `json:"apiServer,omitempty"`
	Kwok          int `json:"kwok,omitempty"`
	Redis         int `json:"redis,omitempty"`
	ArgoCD        int `json:"argocd,omitempty"`
	ArgoCDMetrics int `json:"argocdMetrics,omitempty"`
	// RepoServer is argocd-repo-server's gRPC port (plain text).
	RepoServer        int `json:"repoServer,omitempty"`
	RepoServerMetrics int `json:"repoServerMetrics,omitempty"`
	ControllerMetrics int `json:"controllerMetrics,omitempty"`
	// The applicationset-controller's metrics, health probe and webhook
	// ports.
	AppSetMetrics int `json:"appsetMetrics,omitempty"`
	AppSetProbe   int `json:"appsetProbe,omitempty"`
	AppSetWebhook int `json:"appsetWebhook,omitempty"`
	// The Argo CD ArgoCDV2Version of Options.ArgoCDV2, as the fields above.
	ArgoCDV2            int `json:"argocdV2,omitempty"`
	ArgoCDV2Metrics     int `json:"argocdV2Metrics,omitempty"`
	RepoServerV2        int `json:"repoServerV2,omitempty"`
	RepoServerV2Metrics int `json:"repoServerV2Metrics,omitempty"`
	ControllerV2Metrics int `json:"controllerV2Metrics,omitempty"`
	AppSetV2Metrics     int `json:"appsetV2Metrics,omitempty"`
	AppSetV2Probe       int `json:"appsetV2Probe,omitempty"`
	AppSetV2Webhook     int `json:"appsetV2Webhook,omitempty"`
	// ChartRepo serves the local Helm repository with the vcluster chart.
	ChartRepo int `json:"chartRepo,omitempty"`
}

// resolvePorts checks that every fixed port is free and fills the others with
// free ones. Listeners are held until all ports are chosen so no two parts get
// the same port.
func resolvePorts(p Ports) (Ports, error) {
	fields := []struct {
		name string
		port *int
		host string // the address the part binds
	}{
		{"etcd", &p.Etcd, "127.0.0.1"},
		{"etcd peer", &p.EtcdPeer, "127.0.0.1"},
		{"kube-apiserver", &p.APIServer, "0.0.0.0"},
		{"kwok", &p.Kwok, "127.0.0.1"},
		{"redis-server", &p.Redis, "127.0.0.1"},
		{"argocd-server", &p.ArgoCD, "127.0.0.1"},
		{"argocd-server metrics", &p.ArgoCDMetrics, "127.0.0.1"},
		{"argocd-repo-server", &p.RepoServer, "127.0.0.1"},
		{"argocd-repo-server metrics", &p.RepoServerMetrics, "127.0.0.1"},
		// The controller has no metrics address flag: it binds every address.
		{"argocd-application-controller metrics", &p.ControllerMetrics, "0.0.0.0"},
		{"argocd-applicationset-controller metrics", &p.AppSetMetrics, "127.0.0.1"},
		{"argocd-applicationset-controller probe", &p.AppSetProbe, "127.0.0.1"},
		{"argocd-applicationset-controller webhook", &p.AppSetWebhook, "127.0.0.1"},
		{"argocd-server v2", &p.ArgoCDV2, "127.0.0.1"},
		{"argocd-server v2 metrics", &p.ArgoCDV2Metrics, "127.0.0.1"},
		{"argocd-repo-server v2", &p.RepoServerV2, "127.0.0.1"},
		{"argocd-repo-server v2 metrics", &p.RepoServerV2Metrics, "127.0.0.1"},
		{"argocd-application-controller v2 metrics", &p.ControllerV2Metrics, "0.0.0.0"},
		{"argocd-applicationset-controller v2 metrics", &p.AppSetV2Metrics, "127.0.0.1"},
		{"argocd-applicationset-controller v2 probe", &p.AppSetV2Probe, "127.0.0.1"},
		{"argocd-applicationset-controller v2 webhook", &p.AppSetV2Webhook, "127.0.0.1"},
		// With real nodes it listens on every address.
		{"chart repository", &p.ChartRepo, "0.0.0.0"},
	}
	var held []net.Listener
	defer func() {
		for _, l := range held {
			l.Close()
		}
	}()
	for _, f := range fields {
		if *f.port != 0 {
			l, err := net.Listen("tcp", net.JoinHostPort(f.host, strconv.Itoa(*f.port)))
			if err != nil {
				if errors.Is(err, syscall.EADDRINUSE) {
					return p, fmt.Errorf("port %d for %s is already in use", *f.port, f.name)
				}
				return p, fmt.Errorf("cannot listen on port %d for %s: %v", *f.port, f.name, err)
			}
			held = append(held, l)
		}
	}
	for _, f := range fields {
		if *f.port == 0 {
			l, err := net.Listen("tcp", net.JoinHostPort(f.host, "0"))
			if err != nil {
				return p, fmt.Errorf("no free port for %s: %v", f.name, err)
			}
			held = append(held, l)
			*f.port = l.Addr().(*net.TCPAddr).Port
		}
	}
	return p, nil
}

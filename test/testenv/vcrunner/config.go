package vcrunner

import (
	"fmt"
	"net"
	"net/url"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/yaml"
)

// Paths inside a tenant's chroot.
const (
	confDir        = "/conf"
	chrootConfig   = confDir + "/config.yaml"
	chrootHostKube = confDir + "/host.kubeconfig"
	chrootEtcdPKI  = confDir + "/etcd"
	etcdEndpoint   = "127.0.0.1:2379"
)

// Overrides lists what the runner changes in the chart values (Secret
// vc-config-<release>, key config.yaml) before handing them to `vcluster
// start`. These are the playground's business, not the chart user's: the
// values a user installs the chart with stay as they are on the host.
var Overrides = []string{
	"controlPlane.backingStore: replaced by etcd.external (a TLS etcd the runner starts in the pod's network namespace, https://" + etcdEndpoint + ")",
	"telemetry.enabled: false (no internet)",
}

// tenantConfig returns the vCluster config for one pod: the chart values
// from the config Secret with the playground's overrides.
func tenantConfig(chartValues []byte) ([]byte, error) {
	values := map[string]any{}
	if err := yaml.Unmarshal(chartValues, &values); err != nil {
		return nil, fmt.Errorf("parse vc-config config.yaml: %w", err)
	}
	if values == nil {
		values = map[string]any{}
	}
	cp := child(values, "controlPlane")
	cp["backingStore"] = map[string]any{
		"etcd": map[string]any{
			"external": map[string]any{
				"enabled":  true,
				"endpoint": etcdEndpoint,
				"tls": map[string]any{
					"caFile":   chrootEtcdPKI + "/ca.crt",
					"certFile": chrootEtcdPKI + "/client.crt",
					"keyFile":  chrootEtcdPKI + "/client.key",
				},
			},
		},
	}
	child(values, "telemetry")["enabled"] = false
	return yaml.Marshal(values)
}

// child returns m[key] as a map, creating it if needed.
func child(m map[string]any, key string) map[string]any {
	if c, ok := m[key].(map[string]any); ok {
		return c
	}
	c := map[string]any{}
	m[key] = c
	return c
}

// hostKubeconfig rewrites the admin kubeconfig so that it works from inside
// a tenant's network namespace: the server becomes hostIP:<same port> (the
// host apiserver listens on 0.0.0.0) and the TLS server name stays the
// original host, so the host apiserver's certificate still verifies. File
// references are inlined, since the chroot need not see them.
func hostKubeconfig(path, contextName, hostIP string) ([]byte, error) {
	cfg, err := clientcmd.LoadFromFile(path)
	if err != nil {
		return nil, fmt.Errorf("load host kubeconfig: %w", err)
	}
	if contextName != "" {
		if _, ok := cfg.Contexts[contextName]; ok {
			cfg.CurrentContext = contextName
		}
	}
	if err := clientcmdapi.FlattenConfig(cfg); err != nil {
		return nil, fmt.Errorf("flatten host kubeconfig: %w", err)
	}
	for name, c := range cfg.Clusters {
		u, err := url.Parse(c.Server)
		if err != nil {
			return nil, fmt.Errorf("cluster %s: server %q: %w", name, c.Server, err)
		}
		host, port := u.Hostname(), u.Port()
		if port == "" {
			port = "443"
		}
		if c.TLSServerName == "" && !c.InsecureSkipTLSVerify {
			c.TLSServerName = host
		}
		u.Host = net.JoinHostPort(hostIP, port)
		c.Server = u.String()
	}
	return clientcmd.Write(*cfg)
}

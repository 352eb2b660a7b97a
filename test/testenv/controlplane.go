package testenv

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// controlPlane starts etcd, kube-apiserver, kube-controller-manager and
// kube-scheduler, waiting for etcd and the apiserver (the other two are
// proven later by what they do: root CA ConfigMaps, scheduled pods).
func (u *upper) controlPlane(ctx context.Context, kubeconfig string) error {
	etcdURL := "http://127.0.0.1:" + strconv.Itoa(u.ports.Etcd)
	peerURL := "http://127.0.0.1:" + strconv.Itoa(u.ports.EtcdPeer)
	etcd, err := u.start(partEtcd, etcdURL, u.bins["etcd"], []string{
		"--name=playground",
		"--data-dir=" + u.path("data", "etcd"),
		"--listen-client-urls=" + etcdURL, "--advertise-client-urls=" + etcdURL,
		"--listen-peer-urls=" + peerURL, "--initial-advertise-peer-urls=" + peerURL,
		"--initial-cluster=playground=" + peerURL,
		// The data is thrown away with the playground; fsync only slows
		// down small CI disks.
		"--unsafe-no-fsync",
	})
	if err != nil {
		return err
	}
	plain := &http.Client{Timeout: 2 * time.Second}
	if err := waitReady(ctx, etcd, partTimeout, func() error { return httpOK(plain, etcdURL+"/health", "") }); err != nil {
		return err
	}

	pk := u.pki
	authz := "RBAC"
	if len(u.realNodes) > 0 {
		authz = "Node,RBAC"
	}
	apiArgs := []string{
		"--etcd-servers=" + etcdURL,
		// All addresses: vCluster control planes in network namespaces reach
		// the host apiserver over veth addresses not known at this point.
		"--bind-address=0.0.0.0",
		"--secure-port=" + strconv.Itoa(u.ports.APIServer),
		"--advertise-address=" + u.advertiseAddress(),
		"--tls-cert-file=" + pk.serveCert, "--tls-private-key-file=" + pk.serveKey,
		"--client-ca-file=" + pk.caCert,
		"--token-auth-file=" + pk.tokens,
		"--authorization-mode=" + authz,
		"--service-account-key-file=" + pk.saPub,
		"--service-account-signing-key-file=" + pk.saKey,
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-cluster-ip-range=" + serviceCIDR,
		// kwok gives Nodes an InternalIP and serves their kubelet API there
		// (port-forward, logs).
		"--kubelet-preferred-address-types=InternalIP",
		"--allow-privileged=true",
		"--cert-dir=" + u.path("pki"),
		"--profiling=false",
	}
	if len(u.realNodes) > 0 {
		// Real kubelets: the Node authorizer and NodeRestriction limit each
		// to its own node and pods; the apiserver reaches kubelets with a
		// client certificate they trust.
		if err := pk.issueCert(u.path("pki", "apiserver-kubelet-client"), "kube-apiserver-kubelet-client", []string{"system:masters"}, nil, true); err != nil {
			return err
		}
		apiArgs = append(apiArgs, "--enable-admission-plugins=NodeRestriction",
			"--kubelet-client-certificate="+u.path("pki", "apiserver-kubelet-client.crt"),
			"--kubelet-client-key="+u.path("pki", "apiserver-kubelet-client.key"))
	}
	api, err := u.start(partAPIServer, "https://0.0.0.0:"+strconv.Itoa(u.ports.APIServer), u.bins["kube-apiserver"], apiArgs)
	if err != nil {
		return err
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(pk.caPEM)
	verified := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}}
	if err := waitReady(ctx, api, partTimeout, func() error {
		return httpOK(verified, "https://127.0.0.1:"+strconv.Itoa(u.ports.APIServer)+"/readyz", pk.adminToken)
	}); err != nil {
		return err
	}

	kcmArgs := []string{
		"--kubeconfig=" + kubeconfig,
		"--secure-port=0", "--leader-elect=false",
		// Signs service-account token Secrets (argocd cluster add waits for
		// one) and publishes kube-root-ca.crt into every namespace.
		"--service-account-private-key-file=" + pk.saKey,
		"--root-ca-file=" + pk.caCert,
		"--cluster-signing-cert-file=" + pk.caCert, "--cluster-signing-key-file=" + pk.caKey,
		"--service-cluster-ip-range=" + serviceCIDR,
	}
	if len(u.realNodes) > 0 {
		// A real dynamic provisioner for the default StorageClass
		// (kubernetes.io/host-path: directories /tmp/hostpath_pv/<uuid>,
		// one host only, which the playground is).
		kcmArgs = append(kcmArgs, "--enable-hostpath-provisioner")
	}
	if _, err := u.start(partKCM, "", u.bins["kube-controller-manager"], kcmArgs); err != nil {
		return err
	}
	_, err = u.start(partScheduler, "", u.bins["kube-scheduler"], []string{
		"--kubeconfig=" + kubeconfig,
		"--secure-port=0", "--leader-elect=false",
		// A pod the scheduler parked as unschedulable is retried when an
		// event its plugins registered arrives, or after this long at the
		// latest (kube-scheduler's default is 5m). One CI run saw a tenant's
		// pod stay parked with "unbound immediate PersistentVolumeClaims"
		// until the test gave up at 5m (whether its claim had a volume by
		// then was not recorded; e2e failures now print it). A minute
		// bounds a missed event without hiding a claim that never binds.
		"--pod-max-in-unschedulable-pods-duration=1m",
	})
	return err
}

// advertiseAddress is the address the apiserver publishes in the
// "kubernetes" Service. With real nodes it is the first node's veth host
// address, which every node's pods reach (masqueraded to their node's
// address) without touching any address outside the playground's
// namespaces. Otherwise it is the host's first non-loopback IPv4, so the
// choice does not depend on a default route (offline CI machines may have
// none).
func (u *upper) advertiseAddress() string {
	if len(u.realNodes) > 0 {
		return u.realNodes[0].HostIP
	}
	for _, ip := range hostIPs() {
		if ip4 := ip.To4(); ip4 != nil && !ip4.IsLoopback() {
			return ip4.String()
		}
	}
	return "127.0.0.1"
}

// waitControllerManager waits until kube-controller-manager has published the
// root CA into ns, which needs its informers, the namespace controller's
// neighbours, and the root-ca publisher running.
func (u *upper) waitControllerManager(ctx context.Context, ns string) error {
	return waitReady(ctx, u.proc(partKCM), partTimeout, func() error {
		_, err := u.cs.CoreV1().ConfigMaps(ns).Get(ctx, "kube-root-ca.crt", metav1.GetOptions{})
		return err
	})
}

func (u *upper) proc(name string) *proc {
	for _, p := range u.procs {
		if p.Name == name {
			return p
		}
	}
	return nil
}

// httpOK GETs url (with a bearer token if given) and wants 200.
func httpOK(c *http.Client, url, token string) error {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s: %s", url, resp.Status, body)
	}
	return nil
}

// redisPing wants +PONG from the redis at addr.
func redisPing(addr string) error {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	buf := make([]byte, 16)
	n, err := c.Read(buf)
	if err != nil {
		return err
	}
	if string(buf[:n]) != "+PONG\r\n" {
		return errors.New("redis answered " + strconv.Quote(string(buf[:n])))
	}
	return nil
}

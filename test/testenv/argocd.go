package testenv

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/kubectl-tenant/kubectl-tenant/test/testenv/internal/kubeutil"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/intstr"
)

const argoCDServer = "argocd-server"

// ArgoCDV2Namespace holds the Argo CD ArgoCDV2Version of a playground with
// Options.ArgoCDV2, laid out like ArgoCDNamespace's.
const ArgoCDV2Namespace = "argocd-v2"

// ArgoCD is one Argo CD a playground runs: argocd-server (behind Service
// argocd-server), argocd-repo-server and argocd-application-controller of
// Version, configured in Namespace.
type ArgoCD struct {
	Version   string `json:"version"`
	Namespace string `json:"namespace"`
}

// argoInstance is an ArgoCD with what Up needs to start it. The instances
// share redis (each its own database), the CRDs (Argo CD v3's, a superset
// of v2.14's), the chart repository and the simulated service DNS.
type argoInstance struct {
	ArgoCD
	bin                                                                     string // key of Binaries
	suffix                                                                  string // of its part names ("" or "-v2")
	redisDB                                                                 int
	server, serverMetrics, repoServer, repoServerMetrics, controllerMetrics int
	appsetMetrics, appsetProbe, appsetWebhook                               int
}

func (a argoInstance) redisFlags(host string, port int) []string {
	return []string{"--redis=" + host + ":" + strconv.Itoa(port), "--redisdb=" + strconv.Itoa(a.redisDB)}
}

// argoInstances are the Argo CDs Up starts: ArgoCDVersion in
// ArgoCDNamespace, and with v2 also ArgoCDV2Version in ArgoCDV2Namespace.
func argoInstances(p Ports, v2 bool) []argoInstance {
	out := []argoInstance{{ArgoCD: ArgoCD{ArgoCDVersion, ArgoCDNamespace}, bin: "argocd",
		server: p.ArgoCD, serverMetrics: p.ArgoCDMetrics, repoServer: p.RepoServer,
		repoServerMetrics: p.RepoServerMetrics, controllerMetrics: p.ControllerMetrics,
		appsetMetrics: p.AppSetMetrics, appsetProbe: p.AppSetProbe, appsetWebhook: p.AppSetWebhook}}
	if v2 {
		out = append(out, argoInstance{ArgoCD: ArgoCD{ArgoCDV2Version, ArgoCDV2Namespace}, bin: "argocd-v2", suffix: "-v2", redisDB: 1,
			server: p.ArgoCDV2, serverMetrics: p.ArgoCDV2Metrics, repoServer: p.RepoServerV2,
			repoServerMetrics: p.RepoServerV2Metrics, controllerMetrics: p.ControllerV2Metrics,
			appsetMetrics: p.AppSetV2Metrics, appsetProbe: p.AppSetV2Probe, appsetWebhook: p.AppSetV2Webhook})
	}
	return out
}

// argoCDCRDs are Argo CD's CRD files, in the argo-cd module.
func argoCDCRDs(mods moduleDirs) []string {
	var files []string
	for _, f := range []string{"application-crd.yaml", "applicationset-crd.yaml", "appproject-crd.yaml"} {
		files = append(files, filepath.Join(mods.argocd, "manifests", "crds", f))
	}
	return files
}

// argoCD starts redis-backed argocd-server as a local process and gives it
// what it expects in the cluster: CRDs, argocd-cm, argocd-secret,
// argocd-rbac-cm. In the host cluster a Pod on the system node stands for it
// (kwok runs it, no container), behind Service argocd-server (443 -> 8080),
// and a kwok PortForward rule sends the pod's 8080 to the local process, so
// `kubectl port-forward svc/argocd-server -n argocd 8080:443` reaches it.
// crds delivers the result of applying Argo CD's CRDs, which runs in the
// background because the 1 MB ApplicationSet CRD takes the apiserver seconds.
func (u *upper) argoCD(ctx context.Context, a argoInstance, kubeconfig string, redis *proc) error {
	core := u.cs.CoreV1()
	ns := a.Namespace
	meta := func(name string) metav1.ObjectMeta {
		return metav1.ObjectMeta{Name: name, Namespace: ns, Labels: map[string]string{
			"app.kubernetes.io/name":    name,
			"app.kubernetes.io/part-of": "argocd", // argocd-server ignores argocd-cm without it
		}}
	}
	if err := kubeutil.Create(ctx, core.Namespaces().Create, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
		return err
	}
	for _, err := range []error{
		kubeutil.Create(ctx, core.ConfigMaps(ns).Create, &corev1.ConfigMap{ObjectMeta: meta("argocd-cm")}),
		kubeutil.Create(ctx, core.ConfigMaps(ns).Create, &corev1.ConfigMap{ObjectMeta: meta("argocd-rbac-cm")}),
		// argocd-server fills in server.secretkey and the admin password
		// (also writing argocd-initial-admin-secret) on its first start.
		kubeutil.Create(ctx, core.Secrets(ns).Create, &corev1.Secret{ObjectMeta: meta("argocd-secret")}),
	} {
		if err != nil {
			return fmt.Errorf("argocd objects: %w", err)
		}
	}

	if err := waitReady(ctx, redis, partTimeout, func() error {
		return redisPing("127.0.0.1:" + strconv.Itoa(u.ports.Redis))
	}); err != nil {
		return err
	}
	static := u.path("argocd-static") // no UI assets; the API is what counts
	if err := os.MkdirAll(static, 0o755); err != nil {
		return err
	}
	// How argocd-server reaches tenants' Service addresses: see argoNet.
	an, err := u.argoNet(kubeconfig)
	if err != nil {
		return err
	}
	server := "http://" + an.listen + ":" + strconv.Itoa(a.server)
	bin, args := an.wrap(u.bins[a.bin], append([]string{
		"--kubeconfig=" + an.kubeconfig,
		"--namespace=" + ns,
		// Plain HTTP: TLS is not what the playground tests, and clients reach
		// it through the apiserver's port-forward, which is TLS already.
		"--insecure",
		"--address=" + an.bind, "--port=" + strconv.Itoa(a.server),
		"--metrics-address=" + an.bind, "--metrics-port=" + strconv.Itoa(a.serverMetrics),
		"--repo-server=" + an.host + ":" + strconv.Itoa(a.repoServer), "--repo-server-plaintext",
		"--staticassets=" + static,
	}, a.redisFlags(an.host, u.ports.Redis)...)...)
	argo, err := u.start(partArgoCD+a.suffix, server, bin, args, "ARGOCD_BINARY_NAME=argocd-server")
	if err != nil {
		return err
	}
	if err := u.argoCDPod(ctx, a, an.listen); err != nil {
		return err
	}
	plain := &http.Client{Timeout: 2 * time.Second}
	return waitReady(ctx, argo, partTimeout, func() error {
		if err := httpOK(plain, server+"/healthz", ""); err != nil {
			return err
		}
		_, err := core.Secrets(ns).Get(ctx, "argocd-initial-admin-secret", metav1.GetOptions{})
		return err
	})
}

// argoCDPod creates the host-cluster face of argocd-server (Service, Pod,
// PortForward rule) and waits for the Pod to be scheduled and Running, which
// also proves kube-controller-manager, kube-scheduler and kwok work.
func (u *upper) argoCDPod(ctx context.Context, a argoInstance, addr string) error {
	core := u.cs.CoreV1()
	ns := a.Namespace
	labels := map[string]string{"app.kubernetes.io/name": argoCDServer, "app.kubernetes.io/part-of": "argocd"}
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: argoCDServer, Namespace: ns, Labels: labels},
		Spec: corev1.ServiceSpec{
			Selector: map[string]string{"app.kubernetes.io/name": argoCDServer},
			// As in Argo CD's own manifests: both ports go to 8080.
			Ports: []corev1.ServicePort{
				{Name: "http", Port: 80, TargetPort: intstr.FromInt32(8080)},
				{Name: "https", Port: 443, TargetPort: intstr.FromInt32(8080)},
			},
		},
	}
	if err := kubeutil.Create(ctx, core.Services(ns).Create, svc); err != nil {
		return err
	}
	pf := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "kwok.x-k8s.io/v1alpha1",
		"kind":       "PortForward",
		// kwok matches a PortForward to the pod of the same name.
		"metadata": map[string]any{"name": argoCDServer, "namespace": ns},
		"spec": map[string]any{"forwards": []any{map[string]any{
			"ports":  []any{int64(8080)},
			"target": map[string]any{"address": addr, "port": int64(a.server)},
		}}},
	}}
	if _, err := u.dyn.Resource(portForwardGVR).Namespace(ns).Create(ctx, pf, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("create PortForward for argocd-server: %w", err)
	}

	// kube-controller-manager publishes kube-root-ca.crt (its readiness
	// check) and creates the default ServiceAccount the Pod needs; until the
	// latter exists, admission rejects the Pod, hence the retries.
	if err := u.waitControllerManager(ctx, ns); err != nil {
		return err
	}
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: argoCDServer, Namespace: ns, Labels: labels},
		Spec: corev1.PodSpec{
			NodeSelector: map[string]string{"pool": SystemPool},
			Containers: []corev1.Container{{
				Name:  argoCDServer,
				Image: "quay.io/argoproj/argocd:" + a.Version, // never pulled: kwok runs no containers
				Ports: []corev1.ContainerPort{{Name: "server", ContainerPort: 8080}},
			}},
		},
	}
	if err := waitReady(ctx, u.proc(partKCM), partTimeout, func() error {
		return kubeutil.Create(ctx, core.Pods(ns).Create, pod)
	}); err != nil {
		return err
	}
	if err := waitReady(ctx, u.proc(partScheduler), partTimeout, func() error {
		p, err := core.Pods(ns).Get(ctx, argoCDServer, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if p.Spec.NodeName == "" {
			return fmt.Errorf("pod %s/argocd-server is not scheduled", ns)
		}
		return nil
	}); err != nil {
		return err
	}
	return waitReady(ctx, u.proc(partKwok), partTimeout, func() error {
		p, err := core.Pods(ns).Get(ctx, argoCDServer, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if p.Status.Phase != corev1.PodRunning {
			return fmt.Errorf("pod %s/argocd-server is %s", ns, p.Status.Phase)
		}
		return nil
	})
}

// withHosts are the arguments of `unshare` that run bin with args in a
// private mount namespace in which hosts is bind-mounted over /etc/hosts
// (the playground's simulated service DNS, see argoNet). The exec keeps the
// pid, so the process-group handling holds.
func withHosts(hosts, bin string, args ...string) []string {
	return append([]string{"-m", "--propagation", "private", "/bin/sh", "-c", `mount --bind "$0" /etc/hosts && exec "$@"`,
		hosts, bin}, args...)
}

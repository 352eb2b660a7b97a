package vcrunner

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	listersv1 "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/util/workqueue"
)

// PodSelector selects the vCluster control-plane pods of the chart.
const PodSelector = "app=vcluster,release"

// ReadyFile is created in the playground directory once the runner watches
// pods, and removed when it stops.
const ReadyFile = "vcluster-runner.ready"

var portForwardGVR = schema.GroupVersionResource{Group: "kwok.x-k8s.io", Version: "v1alpha1", Resource: "portforwards"}

type runner struct {
	env     *env
	tag     string
	client  kubernetes.Interface
	dyn     dynamic.Interface
	pods    listersv1.PodLister
	claims  listersv1.PersistentVolumeClaimLister
	volumes listersv1.PersistentVolumeLister
	queue   workqueue.TypedRateLimitingInterface[string]

	mu       sync.Mutex
	tenants  map[string]*tenant
	reserved map[int]bool // network indexes in use by this runner

	hostsMu sync.Mutex // serialises writes of <env dir>/hosts
}

func newRunner(e *env) (*runner, error) {
	loading := &clientcmd.ClientConfigLoadingRules{ExplicitPath: e.Kubeconfig}
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(loading,
		&clientcmd.ConfigOverrides{CurrentContext: e.Context}).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("vcluster-runner: kubeconfig %s: %w", e.Kubeconfig, err)
	}
	cfg.UserAgent = "playground-vcluster-runner"
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	return &runner{
		env:      e,
		tag:      tag(e.Dir),
		client:   client,
		dyn:      dyn,
		queue:    workqueue.NewTypedRateLimitingQueue(workqueue.DefaultTypedControllerRateLimiter[string]()),
		tenants:  map[string]*tenant{},
		reserved: map[int]bool{},
	}, nil
}

func (r *runner) run(ctx context.Context) error {
	if removed := Cleanup(r.env.Dir); len(removed) > 0 {
		logf("removed leftovers of an earlier runner: %v", removed)
	}
	factory := informers.NewSharedInformerFactoryWithOptions(r.client, 0,
		informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.LabelSelector = PodSelector }))
	pvFactory := informers.NewSharedInformerFactoryWithOptions(r.client, 0,
		informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.LabelSelector = managedByLabel + "=" + managedBy }))
	podInf := factory.Core().V1().Pods()
	pvcInf := factory.Core().V1().PersistentVolumeClaims()
	pvInf := pvFactory.Core().V1().PersistentVolumes()
	r.pods, r.claims, r.volumes = podInf.Lister(), pvcInf.Lister(), pvInf.Lister()
	handler := func(prefix string) cache.ResourceEventHandler {
		enqueue := func(obj any) {
			if key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj); err == nil {
				r.queue.Add(prefix + key)
			}
		}
		return cache.ResourceEventHandlerFuncs{
			AddFunc:    enqueue,
			UpdateFunc: func(_, obj any) { enqueue(obj) },
			DeleteFunc: enqueue,
		}
	}
	_, _ = podInf.Informer().AddEventHandler(handler(""))
	_, _ = pvcInf.Informer().AddEventHandler(handler(claimKey))
	_, _ = pvInf.Informer().AddEventHandler(handler(volumeKey))
	factory.Start(ctx.Done())
	pvFactory.Start(ctx.Done())
	syncCtx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	ok := cache.WaitForCacheSync(syncCtx.Done(), podInf.Informer().HasSynced, pvcInf.Informer().HasSynced, pvInf.Informer().HasSynced)
	cancel()
	if !ok {
		if ctx.Err() != nil {
			return nil
		}
		return errors.New("vcluster-runner: pod informer did not sync within 2m (is the host apiserver up?)")
	}
	if err := r.writeHosts(); err != nil {
		logf("write %s: %v", HostsFile, err)
	}
	ready := filepath.Join(r.env.Dir, ReadyFile)
	_ = os.WriteFile(ready, []byte(fmt.Sprintf("%d\n", os.Getpid())), 0o644)
	logf("watching pods and claims (%s) in all namespaces; network namespaces kt-%s-N, 10.213.N.0/30", PodSelector, r.tag)

	// A few workers, so that stopping one vCluster (up to ~10 s) does not
	// hold up starting another; the queue never hands one key to two workers.
	var workers sync.WaitGroup
	for range 3 {
		workers.Go(func() {
			for r.processNext(ctx) {
			}
		})
	}
	<-ctx.Done()
	r.queue.ShutDown()
	workers.Wait()
	_ = os.Remove(ready)
	return r.stopAll()
}

func (r *runner) processNext(ctx context.Context) bool {
	key, quit := r.queue.Get()
	if quit {
		return false
	}
	defer r.queue.Done(key)
	if err := r.reconcile(ctx, key); err != nil {
		if ctx.Err() != nil {
			return true
		}
		logf("%s: %v (retrying)", key, err)
		r.queue.AddRateLimited(key)
		return true
	}
	r.queue.Forget(key)
	return true
}

// isControlPlane says whether pod is a vCluster control-plane pod of the
// chart (container "syncer"), not a workload that a vCluster synced into the
// host and that happens to carry the same labels.
func isControlPlane(pod *corev1.Pod) bool {
	if _, synced := pod.Labels["vcluster.loft.sh/managed-by"]; synced {
		return false
	}
	for _, c := range pod.Spec.Containers {
		if c.Name == "syncer" {
			return true
		}
	}
	return false
}

// wanted says whether pod should have a running vCluster behind it.
func wanted(pod *corev1.Pod) bool {
	return pod.DeletionTimestamp == nil && isControlPlane(pod) &&
		pod.Spec.NodeName != "" &&
		pod.Status.PodIP != "" &&
		pod.Labels["release"] != "" &&
		pod.Status.Phase != corev1.PodSucceeded && pod.Status.Phase != corev1.PodFailed
}

// Work-queue key prefixes; pod keys are plain namespace/name.
const (
	claimKey  = "pvc:"
	volumeKey = "pv:"
)

func (r *runner) reconcile(ctx context.Context, key string) error {
	if k, ok := strings.CutPrefix(key, volumeKey); ok {
		return r.reconcileVolume(ctx, k)
	}
	if k, ok := strings.CutPrefix(key, claimKey); ok {
		ns, name, err := cache.SplitMetaNamespaceKey(k)
		if err != nil {
			return nil
		}
		return r.reconcileClaim(ctx, ns, name)
	}
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil
	}
	pod, err := r.pods.Pods(ns).Get(name)
	if err != nil && !apierrors.IsNotFound(err) {
		return err
	}
	if err != nil {
		pod = nil
	}
	if pod != nil && r.env.realNode(pod.Spec.NodeName) {
		// A real node's kubelet runs this pod itself.
		pod = nil
	}
	r.mu.Lock()
	t := r.tenants[key]
	r.mu.Unlock()
	if t != nil && (pod == nil || !wanted(pod) || pod.UID != t.uid) {
		reason := "pod deleted"
		if pod != nil {
			reason = "pod terminating or replaced"
		}
		logf("%s: %s; stopping its vcluster", key, reason)
		if err := r.stopTenant(ctx, t); err != nil {
			logf("%v", err)
		}
		t = nil
	}
	if pod == nil || !wanted(pod) || t != nil {
		return nil
	}
	return r.startTenant(ctx, pod)
}

// releaseSlot frees a network index reserved by allocSlot.
func (r *runner) releaseSlot(s netSlot) {
	r.mu.Lock()
	delete(r.reserved, s.Index)
	r.mu.Unlock()
}

// allocSlot reserves a free network index (none of this runner's, and no
// 10.213.N.1 on this machine from another playground).
func (r *runner) allocSlot() (netSlot, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	used := usedIndexes()
	for n := 0; n < 256; n++ {
		if !used[n] && !r.reserved[n] && !netnsExists(newSlot(r.tag, n).NetNS) {
			r.reserved[n] = true
			return newSlot(r.tag, n), nil
		}
	}
	return netSlot{}, errors.New("no free 10.213.N.0/30 network left")
}

func (r *runner) startTenant(ctx context.Context, pod *corev1.Pod) error {
	release := pod.Labels["release"]
	sec, err := r.client.CoreV1().Secrets(pod.Namespace).Get(ctx, "vc-config-"+release, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("read vCluster config: %w", err)
	}
	values, ok := sec.Data["config.yaml"]
	if !ok {
		return fmt.Errorf("secret vc-config-%s has no config.yaml", release)
	}
	var oldRV string
	if s, err := r.client.CoreV1().Secrets(pod.Namespace).Get(ctx, "vc-"+release, metav1.GetOptions{}); err == nil {
		oldRV = s.ResourceVersion
	}
	vol, err := r.dataVolume(pod)
	if err != nil {
		return err
	}
	slot, err := r.allocSlot()
	if err != nil {
		return err
	}
	t := newTenant(r, pod, slot, vol)
	r.mu.Lock()
	r.tenants[t.key] = t // reserves the slot
	r.mu.Unlock()
	// undo gives the slot back when a later step fails.
	undo := func() {
		r.mu.Lock()
		delete(r.tenants, t.key)
		r.mu.Unlock()
		_ = teardownNet(ctx, slot)
		_ = os.RemoveAll(t.dir)
		r.releaseSlot(slot)
	}
	if err := t.prepare(ctx, values); err != nil {
		undo()
		return fmt.Errorf("prepare: %w", err)
	}
	if err := r.ensurePortForward(ctx, pod, slot.NSIP); err != nil {
		undo()
		return fmt.Errorf("kwok PortForward: %w", err)
	}
	svc, err := startServiceProxy(net.JoinHostPort(serviceIP(slot.Index), "443"), net.JoinHostPort(slot.NSIP, "8443"))
	if err != nil {
		undo()
		return err
	}
	r.mu.Lock()
	t.svc = svc
	r.mu.Unlock()
	if err := r.writeHosts(); err != nil {
		logf("%s: write %s: %v", t.key, HostsFile, err)
	}
	started := time.Now()
	go t.loop()
	go r.reportSecret(t, oldRV, started)
	return nil
}

// reportSecret logs how long the vCluster took to write its vc-<release>
// Secret (a new resourceVersion if one existed before).
func (r *runner) reportSecret(t *tenant, oldRV string, started time.Time) {
	for {
		select {
		case <-t.stopCh:
			return
		case <-time.After(250 * time.Millisecond):
		}
		if time.Since(started) > 10*time.Minute {
			logf("%s: no vc-%s secret after 10m; see %s", t.key, t.release, t.log)
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		s, err := r.client.CoreV1().Secrets(t.ns).Get(ctx, "vc-"+t.release, metav1.GetOptions{})
		cancel()
		if err == nil && s.ResourceVersion != oldRV {
			logf("%s: vc-%s secret written %s after process start", t.key, t.release, time.Since(started).Round(time.Millisecond))
			return
		}
	}
}

// ensurePortForward creates (or updates) the kwok PortForward rule that
// sends the pod's port 8443 to the vCluster in its network namespace. It is
// owned by the pod, so the garbage collector removes it with the pod too.
func (r *runner) ensurePortForward(ctx context.Context, pod *corev1.Pod, nsIP string) error {
	obj := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "kwok.x-k8s.io/v1alpha1",
		"kind":       "PortForward",
		"metadata": map[string]any{
			"name":      pod.Name,
			"namespace": pod.Namespace,
			"labels":    map[string]any{"app.kubernetes.io/managed-by": "playground-vcluster-runner"},
			"ownerReferences": []any{map[string]any{
				"apiVersion": "v1", "kind": "Pod", "name": pod.Name, "uid": string(pod.UID),
			}},
		},
		"spec": map[string]any{
			"forwards": []any{map[string]any{
				"ports":  []any{int64(8443)},
				"target": map[string]any{"address": nsIP, "port": int64(8443)},
			}},
		},
	}}
	c := r.dyn.Resource(portForwardGVR).Namespace(pod.Namespace)
	_, err := c.Create(ctx, obj, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		cur, gerr := c.Get(ctx, pod.Name, metav1.GetOptions{})
		if gerr != nil {
			return gerr
		}
		obj.SetResourceVersion(cur.GetResourceVersion())
		_, err = c.Update(ctx, obj, metav1.UpdateOptions{})
	}
	return err
}

func (r *runner) deletePortForward(ctx context.Context, ns, name string) error {
	err := r.dyn.Resource(portForwardGVR).Namespace(ns).Delete(ctx, name, metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return err
	}
	return nil
}

func (r *runner) stopTenant(ctx context.Context, t *tenant) error {
	start := time.Now()
	err := t.stop(ctx)
	r.mu.Lock()
	if r.tenants[t.key] == t {
		delete(r.tenants, t.key)
	}
	delete(r.reserved, t.net.Index)
	svc := t.svc
	t.svc = nil
	r.mu.Unlock()
	if svc != nil {
		svc.close()
	}
	if herr := r.writeHosts(); herr != nil {
		logf("%s: write %s: %v", t.key, HostsFile, herr)
	}
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if perr := r.deletePortForward(dctx, t.ns, t.pod); perr != nil && !apierrors.IsNotFound(perr) {
		// the namespace may be gone already; the garbage collector owns it then
		logf("%s: delete PortForward: %v", t.key, perr)
	}
	logf("%s: stopped vcluster and removed %s in %s", t.key, t.net.NetNS, time.Since(start).Round(time.Millisecond))
	return err
}

func (r *runner) stopAll() error {
	r.mu.Lock()
	ts := make([]*tenant, 0, len(r.tenants))
	for _, t := range r.tenants {
		ts = append(ts, t)
	}
	r.mu.Unlock()
	var wg sync.WaitGroup
	errs := make([]error, len(ts))
	for i, t := range ts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = r.stopTenant(context.Background(), t)
		}()
	}
	wg.Wait()
	logf("stopped %d vcluster(s)", len(ts))
	return errors.Join(errs...)
}

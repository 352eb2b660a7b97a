package realnode

import (
	storagev1 "k8s.io/api/storage/v1"

	"context"
	"fmt"

	"github.com/kubectl-tenant/kubectl-tenant/test/testenv/internal/kubeutil"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"
)

// coreDNSCorefile serves cluster.local from the Kubernetes API and nothing
// else: there is no forward plugin, so no query ever leaves the cluster.
const coreDNSCorefile = `.:53 {
    errors
    health :8080
    ready :8181
    kubernetes cluster.local in-addr.arpa ip6.arpa {
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
        ttl 5
    }
    cache 5
    loop
    reload
}
`

const coreDNSNamespace, coreDNSName = "kube-system", "coredns"

// DeployCoreDNS creates the host cluster's DNS as Kubernetes runs it: a
// ServiceAccount with the system:coredns rights, the Corefile, a Deployment
// of image on the first real node's pool, and Service kube-dns at
// ClusterDNSIP. CoreDNSAvailable says when the Deployment is available.
func DeployCoreDNS(ctx context.Context, cs kubernetes.Interface, pool, image string) error {
	const ns, name = coreDNSNamespace, coreDNSName
	labels := map[string]string{"k8s-app": "kube-dns"}
	steps := []func() error{
		func() error {
			return kubeutil.Create(ctx, cs.RbacV1().ClusterRoles().Create, &rbacv1.ClusterRole{
				ObjectMeta: metav1.ObjectMeta{Name: "system:coredns"},
				Rules: []rbacv1.PolicyRule{
					{APIGroups: []string{""}, Resources: []string{"endpoints", "services", "pods", "namespaces"}, Verbs: []string{"list", "watch"}},
					{APIGroups: []string{"discovery.k8s.io"}, Resources: []string{"endpointslices"}, Verbs: []string{"list", "watch"}},
				}})
		},
		func() error {
			return kubeutil.Create(ctx, cs.RbacV1().ClusterRoleBindings().Create, &rbacv1.ClusterRoleBinding{
				ObjectMeta: metav1.ObjectMeta{Name: "system:coredns"},
				RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "system:coredns"},
				Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Name: name, Namespace: ns}},
			})
		},
		func() error {
			return kubeutil.Create(ctx, cs.CoreV1().ServiceAccounts(ns).Create, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name}})
		},
		func() error {
			return kubeutil.Create(ctx, cs.CoreV1().ConfigMaps(ns).Create, &corev1.ConfigMap{
				ObjectMeta: metav1.ObjectMeta{Name: name}, Data: map[string]string{"Corefile": coreDNSCorefile}})
		},
		func() error {
			return kubeutil.Create(ctx, cs.CoreV1().Services(ns).Create, &corev1.Service{
				ObjectMeta: metav1.ObjectMeta{Name: "kube-dns", Labels: labels},
				Spec: corev1.ServiceSpec{ClusterIP: ClusterDNSIP, Selector: labels, Ports: []corev1.ServicePort{
					{Name: "dns", Port: 53, Protocol: corev1.ProtocolUDP, TargetPort: intstr.FromInt32(53)},
					{Name: "dns-tcp", Port: 53, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromInt32(53)},
				}}})
		},
		func() error {
			return kubeutil.Create(ctx, cs.AppsV1().Deployments(ns).Create, &appsv1.Deployment{
				ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
				Spec: appsv1.DeploymentSpec{
					Replicas: ptr.To[int32](1),
					Selector: &metav1.LabelSelector{MatchLabels: labels},
					Template: corev1.PodTemplateSpec{
						ObjectMeta: metav1.ObjectMeta{Labels: labels},
						Spec: corev1.PodSpec{
							ServiceAccountName: name,
							DNSPolicy:          corev1.DNSDefault,
							NodeSelector:       map[string]string{"project": pool},
							Tolerations:        []corev1.Toleration{{Key: "project", Operator: corev1.TolerationOpEqual, Value: pool, Effect: corev1.TaintEffectNoSchedule}},
							Containers: []corev1.Container{{
								Name:            name,
								Image:           image,
								ImagePullPolicy: corev1.PullIfNotPresent,
								Args:            []string{"-conf", "/etc/coredns/Corefile"},
								Ports: []corev1.ContainerPort{
									{Name: "dns", ContainerPort: 53, Protocol: corev1.ProtocolUDP},
									{Name: "dns-tcp", ContainerPort: 53, Protocol: corev1.ProtocolTCP},
								},
								VolumeMounts: []corev1.VolumeMount{{Name: "config", MountPath: "/etc/coredns", ReadOnly: true}},
								ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{
									Path: "/ready", Port: intstr.FromInt32(8181)}}, PeriodSeconds: 2},
							}},
							Volumes: []corev1.Volume{{Name: "config", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
								LocalObjectReference: corev1.LocalObjectReference{Name: name}}}}},
						},
					},
				},
			})
		},
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return fmt.Errorf("coredns: %w", err)
		}
	}
	return nil
}

// CoreDNSAvailable is nil once DeployCoreDNS's Deployment has an available
// replica.
func CoreDNSAvailable(ctx context.Context, cs kubernetes.Interface) error {
	const ns, name = coreDNSNamespace, coreDNSName
	d, err := cs.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return err
	}
	if d.Status.AvailableReplicas < 1 {
		return fmt.Errorf("deployment %s/%s has no available replica", ns, name)
	}
	return nil
}

// StorageClassName is the default StorageClass of playgrounds with real
// nodes: kube-controller-manager's built-in host-path provisioner, a real
// dynamic provisioner in a binary the playground already builds (no image
// or build of its own; it serves one host, and the playground is one).
const StorageClassName = "standard"

// CreateStorageClass creates StorageClassName as the default StorageClass.
func CreateStorageClass(ctx context.Context, cs kubernetes.Interface) error {
	if err := kubeutil.Create(ctx, cs.StorageV1().StorageClasses().Create, &storagev1.StorageClass{
		ObjectMeta: metav1.ObjectMeta{Name: StorageClassName,
			Annotations: map[string]string{"storageclass.kubernetes.io/is-default-class": "true"}},
		Provisioner: "kubernetes.io/host-path",
		// Provision once a pod is scheduled: the vCluster runner's volumes
		// for chart claims of kwok pools, pre-bound at once, keep winning.
		VolumeBindingMode: ptr.To(storagev1.VolumeBindingWaitForFirstConsumer),
	}); err != nil {
		return fmt.Errorf("default StorageClass: %w", err)
	}
	return nil
}

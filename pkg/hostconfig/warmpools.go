package hostconfig

import (
	"context"
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/yaml"

	"github.com/kubectl-tenant/kubectl-tenant/pkg/warmpool"
)

// ParseWarmPools parses the warmPools entry: a YAML map of pool to
// {size, state}.
func ParseWarmPools(s string) (map[string]warmpool.Config, error) {
	out := map[string]warmpool.Config{}
	if strings.TrimSpace(s) == "" {
		return out, nil
	}
	if err := yaml.UnmarshalStrict([]byte(s), &out); err != nil {
		return nil, fmt.Errorf("not a map of pool to {size, state}: %s", oneLine(err))
	}
	return warmpool.Keyed(out)
}

// FormatWarmPools writes pools as the warmPools entry (sorted, one line
// per pool; empty pools are dropped).
func FormatWarmPools(pools map[string]warmpool.Config) string {
	names := make([]string, 0, len(pools))
	for p, w := range pools {
		if w.Size > 0 {
			names = append(names, p)
		}
	}
	sort.Strings(names)
	var b strings.Builder
	for _, p := range names {
		w := pools[p]
		fmt.Fprintf(&b, "%s: {size: %d, state: %s}\n", p, w.Size, w.State)
	}
	return b.String()
}

// SetWarmPool sets c.Pool's entry of warmPools in the host defaults (size 0
// removes it), creating the ConfigMap if there is none, and returns the
// defaults as written. The update is conditional: a concurrent writer's
// change is read again, not overwritten.
func SetWarmPool(ctx context.Context, kube kubernetes.Interface, c warmpool.Config) (*Defaults, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	var out *Defaults
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		cms := kube.CoreV1().ConfigMaps(Namespace)
		cm, err := cms.Get(ctx, Name, metav1.GetOptions{})
		create := apierrors.IsNotFound(err)
		if create {
			cm, err = ConfigMap(map[string]string{}), nil
		}
		if err != nil {
			return err
		}
		if cm.Data == nil {
			cm.Data = map[string]string{}
		}
		d, err := Parse(cm.Data)
		if err != nil {
			return err // a malformed object is not written over
		}
		pools := d.WarmPools
		if pools == nil {
			pools = map[string]warmpool.Config{}
		}
		if c.Size == 0 {
			delete(pools, c.Pool)
		} else {
			pools[c.Pool] = c
		}
		cm.Data[KeyWarmPools] = FormatWarmPools(pools)
		if cm.Data[KeyWarmPools] == "" {
			delete(cm.Data, KeyWarmPools)
		}
		if out, err = Parse(cm.Data); err != nil {
			return err
		}
		if create {
			_, err = cms.Create(ctx, cm, metav1.CreateOptions{})
			if apierrors.IsAlreadyExists(err) {
				return apierrors.NewConflict(corev1.Resource("configmaps"), Name, err)
			}
			return err
		}
		_, err = cms.Update(ctx, cm, metav1.UpdateOptions{})
		return err
	})
	return out, err
}

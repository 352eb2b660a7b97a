package hostconfig

import (
	"context"
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/yaml"
)

// Warm pool states.
const (
	StateRunning  = "running"
	StateSleeping = "sleeping"
)

// MaxWarmPoolSize bounds a pool's size: spares cost a control plane each.
const MaxWarmPoolSize = 50

// WarmPool is one entry of warmPools: how many spare tenants the node pool
// keeps, and whether they run or sleep.
type WarmPool struct {
	Size  int    `json:"size"`
	State string `json:"state,omitempty"` // running (default) or sleeping
}

// Sleeping says the pool's spares are kept asleep.
func (w WarmPool) Sleeping() bool { return w.State == StateSleeping }

// Check validates one pool's entry.
func (w WarmPool) Check(pool string) error {
	if errs := validation.IsValidLabelValue(pool); len(errs) > 0 || pool == "" {
		return fmt.Errorf("pool %q is not a node pool name (a label value)", pool)
	}
	if w.Size < 0 || w.Size > MaxWarmPoolSize {
		return fmt.Errorf("pool %s: size %d is not between 0 and %d", pool, w.Size, MaxWarmPoolSize)
	}
	if w.State != "" && w.State != StateRunning && w.State != StateSleeping {
		return fmt.Errorf("pool %s: state %q is not running or sleeping", pool, w.State)
	}
	return nil
}

// ParseWarmPools parses the warmPools entry: a YAML map of pool to
// {size, state}.
func ParseWarmPools(s string) (map[string]WarmPool, error) {
	out := map[string]WarmPool{}
	if strings.TrimSpace(s) == "" {
		return out, nil
	}
	if err := yaml.UnmarshalStrict([]byte(s), &out); err != nil {
		return nil, fmt.Errorf("not a map of pool to {size, state}: %s", oneLine(err))
	}
	for p, w := range out {
		if err := w.Check(p); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// FormatWarmPools writes pools as the warmPools entry (sorted, one line
// per pool; empty pools are dropped).
func FormatWarmPools(pools map[string]WarmPool) string {
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
		fmt.Fprintf(&b, "%s: {size: %d, state: %s}\n", p, w.Size, w.stateOrDefault())
	}
	return b.String()
}

func (w WarmPool) stateOrDefault() string {
	if w.State == "" {
		return StateRunning
	}
	return w.State
}

// SetWarmPool sets pool's entry of warmPools in the host defaults (size 0
// removes it), creating the ConfigMap if there is none, and returns the
// defaults as written. The update is conditional: a concurrent writer's
// change is read again, not overwritten.
func SetWarmPool(ctx context.Context, kube kubernetes.Interface, pool string, w WarmPool) (*Defaults, error) {
	if err := w.Check(pool); err != nil {
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
			pools = map[string]WarmPool{}
		}
		if w.Size == 0 {
			delete(pools, pool)
		} else {
			pools[pool] = w
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

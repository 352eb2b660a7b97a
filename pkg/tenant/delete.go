package tenant

import (
	"context"
	"errors"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubectl-tenant/kubectl-tenant/pkg/kubeconfig"
)

// DeleteOptions are the inputs of Delete.
type DeleteOptions struct {
	Name string
	// Wait bounds how long to wait for the namespace to disappear.
	Wait time.Duration
	// IgnoreNotFound makes deleting a tenant that does not exist a success.
	IgnoreNotFound bool
}

// Delete removes everything of a tenant: its Argo CD registration, the
// release, the namespace, its kubeconfig entries and forwarders. Every step
// tolerates what is already gone, so a re-run after a failure or Ctrl-C
// finishes the job, and a half-created tenant is cleaned the same way.
func (e *Engine) Delete(ctx context.Context, o DeleteOptions) error {
	if err := ValidateName(o.Name); err != nil {
		return err
	}
	t, err := e.Resolve(ctx, o.Name)
	remote := err == nil
	if err != nil && !errors.Is(err, ErrNotFound) {
		return err
	}
	nsName := NamespaceFor(o.Name)
	if remote {
		nsName = t.NS.Name // a claimed spare keeps its namespace
	}
	// A live tenant is changed under its lease (not while a create or an
	// upgrade runs); once its namespace is deleted the lease goes with it,
	// and the wait for that needs no lease.
	remove := func(ctx context.Context) error {
		if e.Registrar != nil {
			if err := e.Report.Step(StepDeregister, func() error { return e.Registrar.Deregister(ctx, o.Name, e.Report) }); err != nil {
				return err
			}
		}
		// The Application goes first, with Argo CD's resources finalizer:
		// left in place, selfHeal would re-create what the next steps
		// delete. A missing namespace may still leave an Application of a
		// half-created tenant behind.
		if e.GitOps != nil && (!remote || t.NS.Annotations[AnnotationApplication] != "") {
			if err := e.Report.Step(StepDeleteApp, func() error { return e.GitOps.Remove(ctx, o.Name, o.Wait, e.Report) }); err != nil {
				return err
			}
		}
		if !remote {
			return nil
		}
		if err := e.Report.Step(StepUninstall, func() error { return e.Backend.Uninstall(ctx, nsName) }); err != nil {
			return err
		}
		// Deleted under the lease, so no other run starts on a namespace
		// about to go; the wait below needs none.
		if err := Fence(ctx); err != nil {
			return err
		}
		return e.deleteNamespace(ctx, nsName, 0)
	}
	if remote && t.NS.DeletionTimestamp == nil {
		err = e.withLock(ctx, t, "delete", firstStep(e), o.Wait, remove)
		if errors.Is(err, errBeingDeleted) {
			// Another delete (or gc) got there while this one waited for
			// the lease: finish (and wait) like for a terminating tenant.
			err = remove(ctx)
		}
	} else {
		err = remove(ctx)
	}
	if err != nil {
		return err
	}
	if remote {
		if err := e.Report.Step(StepDeleteNS, func() error { return e.deleteNamespace(ctx, nsName, o.Wait) }); err != nil {
			return err
		}
	}
	var local bool
	if err := e.Report.Step(StepLocal, func() (err error) { local, err = e.cleanLocal(o.Name); return }); err != nil {
		return err
	}
	if !remote && !local && !o.IgnoreNotFound {
		return fmt.Errorf("tenant %q: %w", o.Name, ErrNotFound)
	}
	return nil
}

// firstStep is the step delete reports first, under which it waits for the
// tenant's lease.
func firstStep(e *Engine) string {
	if e.Registrar != nil {
		return StepDeregister
	}
	return StepUninstall
}

func (h *Host) deleteNamespace(ctx context.Context, nsName string, wait time.Duration) error {
	nsc := h.Kube.CoreV1().Namespaces()
	err := nsc.Delete(ctx, nsName, metav1.DeleteOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return nil
	case apierrors.IsConflict(err):
		// Already terminating (another delete or gc got there first): wait
		// for it like for our own.
	case err != nil:
		return apiError(err)
	}
	if wait <= 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	return h.poll(ctx, StepDeleteNS, func() (bool, string, error) {
		_, err := nsc.Get(ctx, nsName, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return true, "", nil
		}
		return false, "waiting for namespace " + nsName + " to be removed", apiError(err)
	})
}

// cleanLocal stops the holders and removes the kubeconfig entries of the
// tenant's connections through this host (a tenant of the same name on
// another host cluster is another tenant), restoring the context that was
// current before connect.
func (h *Host) cleanLocal(name string) (bool, error) {
	ss, err := h.Sessions.List()
	if err != nil {
		return false, err
	}
	found, restore := false, ""
	for _, s := range ss {
		if s.Tenant != name || s.HostContext != h.HostContext {
			continue
		}
		found = true
		s.Stop(5 * time.Second)
		if s.Same(h.Kubeconfig.Path, s.Context) {
			restore = s.PreviousContext
		} else if _, err := (kubeconfig.Store{Path: s.Kubeconfig}).RemoveTenant(name, h.HostContext, s.PreviousContext); err != nil {
			return found, err
		}
		if err := h.Sessions.Unlink(s); err != nil {
			return found, err
		}
	}
	removed, err := h.Kubeconfig.RemoveTenant(name, h.HostContext, restore)
	return found || removed, err
}

// DeletePlan names the steps Delete reports, in order (delete application
// shows up only for a tenant Argo CD installs).
func DeletePlan() []string {
	return []string{StepDeregister, StepUninstall, StepDeleteNS, StepLocal}
}

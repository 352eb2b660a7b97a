package tenant

import (
	"fmt"
	"time"
)

// Status is the coarse state of a tenant, as shown by list.
type Status string

const (
	StatusReady       Status = "Ready"
	StatusPending     Status = "Pending"     // installed, control plane not up yet
	StatusInstalling  Status = "Installing"  // namespace exists, no deployed release yet
	StatusFailed      Status = "Failed"      // the release failed
	StatusTerminating Status = "Terminating" // namespace is being deleted
	StatusSleeping    Status = "Sleeping"    // paused (sleep or `vcluster pause`), data kept
	StatusStopped     Status = "Stopped"     // control plane scaled to zero without a pause
)

// ControlPlane is what the control plane's workload says about a tenant.
type ControlPlane struct {
	Kind     string // the workload's kind, e.g. StatefulSet or Deployment
	Replicas int    // desired
	Ready    int    // ready
	Paused   bool   // carries the pause annotation (`vcluster pause`, sleep)
}

// Tenant is what list, status and the TUI show about one tenant.
type Tenant struct {
	Name      string `json:"name"`
	Namespace string `json:"namespace"`
	Status    Status `json:"status"`
	// Reason says why the status is not Ready (a failed install's error,
	// replicas not ready yet).
	Reason     string    `json:"reason,omitempty"`
	Pool       string    `json:"pool,omitempty"`
	Workspace  string    `json:"workspace,omitempty"`
	Isolation  bool      `json:"isolation,omitempty"`
	K8sVersion string    `json:"k8sVersion,omitempty"`
	Owner      string    `json:"owner,omitempty"`
	CreatedAt  time.Time `json:"createdAt"`
	// Labels are the tenant namespace's labels: create --label's and the
	// tool's own (list -l and upgrade -l select on them).
	Labels      map[string]string `json:"labels,omitempty"`
	ExpiresAt   *time.Time        `json:"expiresAt,omitempty"`
	TimeToReady time.Duration     `json:"timeToReady,omitempty"`
	// LastConnectedAt is when connect last opened the tenant (nil: never
	// recorded).
	LastConnectedAt *time.Time `json:"lastConnectedAt,omitempty"`
	// Spare is a warm spare not claimed yet (list --spares).
	Spare bool `json:"spare,omitempty"`
	// ClaimedAt is when create claimed the tenant as a warm spare (nil:
	// installed by its create).
	ClaimedAt *time.Time `json:"claimedAt,omitempty"`
	// SleepingSince is when sleep scaled the tenant to zero.
	SleepingSince *time.Time `json:"sleepingSince,omitempty"`
	// SleepAfter is how long the tenant may stay idle before gc puts it to
	// sleep (0: never; nil: the host default idleSleepAfter).
	SleepAfter *time.Duration `json:"sleepAfter,omitempty"`
	// Slept is the time slept in finished sleeps (SleptAt adds the
	// current one); WokenAt is the last wake.
	Slept      time.Duration `json:"slept,omitempty"`
	WokenAt    *time.Time    `json:"wokenAt,omitempty"`
	Connected  bool          `json:"connected"`
	Registered *bool         `json:"registered,omitempty"` // nil: Argo CD not asked
}

// Summary is the one line a create ends with, in every face: "tenant demo
// is Ready (ready in 41.8s); registered with Argo CD".
func (t *Tenant) Summary() string {
	s := fmt.Sprintf("tenant %s is %s", t.Name, t.Status)
	if t.TimeToReady > 0 {
		s += fmt.Sprintf(" (ready in %s)", t.TimeToReady)
	}
	if t.Registered != nil && *t.Registered {
		s += "; registered with Argo CD"
	}
	return s
}

// Release is the Helm release state of a tenant, as the backend sees it.
type Release struct {
	Status  string // Helm status: deployed, failed, pending-install, ...
	Version int    // release revision
}

// Credentials is what is needed to talk to a tenant's virtual API server,
// taken from the vc-<release> Secret vCluster writes.
type Credentials struct {
	CA         []byte
	ClientCert []byte
	ClientKey  []byte
	Token      string
}

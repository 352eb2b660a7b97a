// Package credential implements `kubectl tenant credential NAME`, the exec
// credential plugin of the tenant contexts connect writes.
package credential

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-tenant/kubectl-tenant/internal/cmdutil"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/credential"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/hostconfig"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/kubeconfig"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant"
)

// Options of credential.
type Options struct {
	IO     genericiooptions.IOStreams
	Engine func() (*tenant.Engine, error)
	Now    func() time.Time

	Name      string
	Namespace string
	Lifetime  time.Duration
	CachePath string
}

// NewCmdCredential builds the command; runF replaces Run in tests.
func NewCmdCredential(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	o := &Options{IO: f.IOStreams, Engine: f.Engine, Now: time.Now}
	cmd := &cobra.Command{
		Use:   "credential NAME",
		Short: "Exec credential plugin of tenant contexts: print a short-lived client certificate",
		Long: `Credential is what a tenant context's user runs (client-go's exec credential plugin, written
by connect): it prints an ExecCredential (client.authentication.k8s.io/v1) holding a client
certificate for the tenant, valid for --credential-lifetime, whose user is your user name on
the host cluster (` + "`kubectl auth whoami`" + ` in the tenant shows it) in the tenant's admin group.
It is minted only while your host rights let you read the tenant's client CA (Secret
vcluster-certs in its namespace, which the tenant-admin Role grants), and cached (file 0600 in
the state directory, --cache) until it expires, so most runs make no API call. The host
cluster is reached with the kubeconfig flags connect recorded in the context.`,
		Example: `  kubectl tenant credential demo --credential-lifetime 10m   # what kubectl runs for context "demo"`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.Complete(cmd, args); err != nil {
				return err
			}
			if err := o.Validate(); err != nil {
				return err
			}
			if runF != nil {
				return runF(cmd.Context(), o)
			}
			return o.Run(cmd.Context())
		},
		ValidArgsFunction: cmdutil.CompleteTenantNames(f),
	}
	fl := cmd.Flags()
	fl.StringVar(&o.Namespace, "tenant-namespace", "", "the tenant's namespace on the host (default: vcluster-NAME)")
	fl.DurationVar(&o.Lifetime, "credential-lifetime", 0, "lifetime of the certificate (connect records the resolved "+hostconfig.KeyCredentialLifetime+"; default "+hostconfig.BuiltInCredentialLifetime+")")
	fl.StringVar(&o.CachePath, "cache", "", "file caching the credential until it expires (empty: no cache)")
	return cmd
}

// Complete takes NAME; without --credential-lifetime (connect always records
// the resolved one) the lifetime is the built-in one.
func (o *Options) Complete(cmd *cobra.Command, args []string) error {
	o.Name = args[0]
	if o.Lifetime == 0 {
		d, err := hostconfig.CheckCredentialLifetime(hostconfig.BuiltInCredentialLifetime)
		if err != nil {
			return err
		}
		o.Lifetime = d
	}
	return nil
}

// Validate checks the arguments.
func (o *Options) Validate() error {
	if err := tenant.ValidateName(o.Name); err != nil {
		return err
	}
	if _, err := hostconfig.CheckCredentialLifetime(o.Lifetime.String()); err != nil {
		return cmdutil.UsageError{Err: fmt.Errorf("--credential-lifetime: %w", err)}
	}
	if o.CachePath != "" && !filepath.IsAbs(o.CachePath) {
		return cmdutil.UsageError{Err: errors.New("--cache must be an absolute path")}
	}
	return nil
}

// Run prints the cached credential while it is valid, else mints one
// (through the host RBAC gate), caches and prints it.
func (o *Options) Run(ctx context.Context) error {
	cache := credential.Cache{Path: o.CachePath, Write: kubeconfig.WritePrivate}
	if b, ok := cache.Load(o.Now()); ok {
		_, err := o.IO.Out.Write(b)
		return err
	}
	e, err := o.Engine()
	if err != nil {
		return err
	}
	b, err := e.MintCredential(ctx, tenant.CredentialOptions{Name: o.Name, Namespace: o.Namespace, Lifetime: o.Lifetime})
	if err != nil {
		// Whatever was cached is not to be used again.
		_ = cache.Remove()
		return err
	}
	if err := cache.Store(b); err != nil {
		fmt.Fprintf(o.IO.ErrOut, "warning: not cached: %s\n", cmdutil.OneLine(err))
	}
	_, err = o.IO.Out.Write(b)
	return err
}

package cmdutil

import (
	"cmp"
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/kubectl-tenant/kubectl-tenant/pkg/hostconfig"
	"github.com/kubectl-tenant/kubectl-tenant/plugins/argocd"
)

// AddArgoCDFlags adds the flags that say where Argo CD is and how to log in
// (register and deregister share them; create has them prefixed, where a
// bare --insecure would be ambiguous). --argocd-server is not --server:
// that one is kubectl's, for the host API server. auth gets --auth (or
// --argocd-auth); resolve it into o.Auth with ResolveAuth. A flag's default
// is the environment's value (hostconfig.Resolver.ArgoCD), as the
// commands without these flags (list, delete, gc, the interactive app) see
// it; the host defaults fill what is still unset at run time
// (ArgoCDDefaults). o reads the token from env too.
func AddArgoCDFlags(cmd *cobra.Command, env Env, o *argocd.Options, auth *string, prefixed bool) {
	fl := cmd.Flags()
	o.Getenv = env.Get
	a := hostconfig.Resolver{Getenv: env.Get}.ArgoCD("") // a malformed boolean counts as unset here
	fromEnv := func(v hostconfig.Value) string {
		if v.Source == hostconfig.Env {
			return v.Value
		}
		return ""
	}
	names, authName, authHelp := argocd.DefaultFlags, "auth", authUsage
	if prefixed {
		names, authName, authHelp = argocd.PrefixedFlags, "argocd-auth", "Argo CD login: initial-admin or token (as register's --auth)"
	}
	o.Flags = names
	fl.StringVar(&o.Namespace, "argocd-namespace", fromEnv(a.Namespace), "namespace of argocd-server and its Secrets (default: $"+hostconfig.EnvArgoCDNamespace+", the host defaults' "+hostconfig.KeyArgoCDNamespace+", or "+hostconfig.BuiltInArgoCDNamespace+")")
	if o.Server = fromEnv(a.Server); o.Server != "" {
		o.ServerFrom = a.Server.Origin()
	}
	fl.Var(serverFlag{o}, "argocd-server", "Argo CD API address (https://HOST[:PORT]; http:// only with "+names.Insecure+"; $"+hostconfig.EnvArgoCDServer+"); default: a port-forward to Service argocd-server")
	fl.BoolVar(&o.Insecure, strings.TrimPrefix(names.Insecure, "--"), a.Insecure, "skip TLS verification of the Argo CD server (its default certificate is self-signed; $"+hostconfig.EnvArgoCDInsecure+"); also allows a plain-HTTP --argocd-server")
	fl.BoolVar(&o.Plaintext, strings.TrimPrefix(names.Plaintext, "--"), a.Plaintext, "speak plain HTTP to Argo CD (argocd-server --insecure; $"+hostconfig.EnvArgoCDPlaintext+"); detected by itself through the port-forward")
	fl.StringVar(auth, authName, "auto", authHelp)
	if !prefixed {
		// create's spellings work here too, so one set of flags fits both.
		for alias, p := range map[string]*bool{argocd.PrefixedFlags.Insecure: &o.Insecure, argocd.PrefixedFlags.Plaintext: &o.Plaintext} {
			fl.BoolVar(p, strings.TrimPrefix(alias, "--"), *p, "")
			_ = fl.MarkHidden(strings.TrimPrefix(alias, "--"))
		}
		fl.StringVar(auth, "argocd-auth", "auto", "")
		_ = fl.MarkHidden("argocd-auth")
	}
}

// serverFlag is --argocd-server: setting it records that the address came
// from the flag (errors name where a refused address came from).
type serverFlag struct{ o *argocd.Options }

func (f serverFlag) String() string { return f.o.Server }
func (f serverFlag) Type() string   { return "string" }
func (f serverFlag) Set(v string) error {
	f.o.Server, f.o.ServerFrom = v, "flag --argocd-server"
	return nil
}

const authUsage = "Argo CD login: initial-admin (Secret argocd-initial-admin-secret) or token ($ARGOCD_AUTH_TOKEN, else the argocd CLI's token for --argocd-server, or of its context made by argocd login --port-forward); auto: the token when $ARGOCD_AUTH_TOKEN is set"

// ResolveAuth maps the --auth flag value to argocd.Options.Auth.
func ResolveAuth(flag string) string {
	if flag == "auto" {
		return argocd.AuthAuto
	}
	return flag
}

// HostArgoCD is where Argo CD is for the commands without Argo CD flags
// (list, delete, gc, the interactive app), as r resolves it.
func HostArgoCD(r hostconfig.Resolver) argocd.Options {
	return argocd.OptionsFrom(r.ArgoCD(""), r.Getenv)
}

// ArgoCDDefaults fills where Argo CD is from the host defaults (the
// Factory's Defaults) when the flags and the environment left it unset.
func ArgoCDDefaults(ctx context.Context, defaults func(context.Context, *pflag.FlagSet) (hostconfig.Resolver, error), ao argocd.Options) (argocd.Options, error) {
	if ao.Namespace != "" && ao.Server != "" {
		return ao, nil
	}
	r, err := defaults(ctx, nil)
	if err != nil {
		return ao, err
	}
	a := r.ArgoCD("")
	ao.Namespace = cmp.Or(ao.Namespace, a.Namespace.Value)
	if ao.Server == "" && a.Server.Value != "" {
		ao.Server, ao.ServerFrom = a.Server.Value, a.Server.Origin()
	}
	return ao, ao.Validate()
}

// ParseLabels turns KEY=VALUE arguments into a map (nil when none).
func ParseLabels(args []string) (map[string]string, error) {
	if len(args) == 0 {
		return nil, nil
	}
	out := map[string]string{}
	for _, a := range args {
		k, v, ok := strings.Cut(a, "=")
		if !ok || k == "" {
			return nil, UsageError{Err: fmt.Errorf("invalid --label %q: want KEY=VALUE", a)}
		}
		out[k] = v
	}
	return out, nil
}

package cmdutil

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant"
)

// OutputFormats are the -o values list-like commands accept.
var OutputFormats = []string{"", "wide", "json", "yaml", "name"}

// ValidateOutput rejects an unknown -o value (exit code 2).
func ValidateOutput(o string, allowed ...string) error {
	if !slices.Contains(allowed, o) {
		return UsageError{fmt.Errorf("unknown output format %q (use one of: json, yaml, wide, name)", o)}
	}
	return nil
}

// PrintObject writes v as JSON or YAML.
func PrintObject(w io.Writer, format string, v any) error {
	switch format {
	case "json":
		b, err := json.MarshalIndent(v, "", "    ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintln(w, string(b))
		return err
	case "yaml":
		b, err := yaml.Marshal(v)
		if err != nil {
			return err
		}
		_, err = w.Write(b)
		return err
	}
	return fmt.Errorf("unsupported format %q", format)
}

// PrintTenant writes the outcome of a one-tenant command: the object for
// json|yaml, tenant/NAME for name, else the human sentence.
func PrintTenant(w io.Writer, format string, t *tenant.Tenant, human string) error {
	return PrintOutcome(w, format, t.Name, t, human)
}

// PrintOutcome is PrintTenant for any result object about tenant name.
func PrintOutcome(w io.Writer, format, name string, obj any, human string) error {
	switch format {
	case "json", "yaml":
		return PrintObject(w, format, obj)
	case "name":
		_, err := fmt.Fprintln(w, "tenant/"+name)
		return err
	}
	_, err := fmt.Fprintln(w, human)
	return err
}

// ValidateTenantStep checks the input of a one-tenant command that waits
// (sleep, wake): the name, a non-negative --wait and -o json|yaml|name.
func ValidateTenantStep(name string, wait time.Duration, output string) error {
	if err := tenant.ValidateName(name); err != nil {
		return err
	}
	if wait < 0 {
		return UsageError{Err: fmt.Errorf("--wait must not be negative")}
	}
	return ValidateOutput(output, "", "json", "yaml", "name")
}

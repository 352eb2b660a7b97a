package cmdutil

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/pflag"
	"k8s.io/cli-runtime/pkg/genericclioptions"
)

// TestForwarderGetsTheWholeConfig: every field of kubectl's ConfigFlags the
// user set reaches the background forwarder (argv, or the parent pipe for
// the token and password), so it never runs as a broader identity or with
// other TLS settings (M3). A field added to ConfigFlags fails this test
// until it is passed on.
func TestForwarderGetsTheWholeConfig(t *testing.T) {
	in := genericclioptions.NewConfigFlags(true)
	v := reflect.ValueOf(in).Elem()
	for i := range v.NumField() {
		f, ft := v.Field(i), v.Type().Field(i)
		if !ft.IsExported() || f.Kind() != reflect.Pointer || f.IsNil() {
			continue // nil: not a flag of the binary (AddFlags skips it)
		}
		switch p := f.Interface().(type) {
		case *string:
			*p = "v-" + ft.Name
		case *bool:
			*p = true
		case *[]string:
			*p = []string{"a-" + ft.Name, "b-" + ft.Name}
		default:
			t.Fatalf("ConfigFlags.%s has a type this test does not know: %T", ft.Name, p)
		}
	}
	args := PassthroughFlags(in, "")
	for _, a := range args {
		if strings.Contains(a, "v-BearerToken") || strings.Contains(a, "v-Password") {
			t.Fatalf("a secret is in the forwarder's argv: %q", a)
		}
	}
	out := genericclioptions.NewConfigFlags(true)
	fs := pflag.NewFlagSet("child", pflag.ContinueOnError)
	out.AddFlags(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatalf("the forwarder cannot parse %v: %v", args, err)
	}
	// What fromParent sets from the pipe.
	*out.BearerToken = *in.BearerToken
	if in.Password != nil {
		*out.Password = *in.Password
	}
	ov := reflect.ValueOf(out).Elem()
	for i := range v.NumField() {
		ft := v.Type().Field(i)
		if !ft.IsExported() || v.Field(i).Kind() != reflect.Pointer || v.Field(i).IsNil() {
			continue
		}
		if got, want := ov.Field(i).Elem().Interface(), v.Field(i).Elem().Interface(); !reflect.DeepEqual(got, want) {
			t.Errorf("ConfigFlags.%s: forwarder gets %v, want %v", ft.Name, got, want)
		}
	}
	// The resolved host context wins over --context.
	if a := PassthroughFlags(in, "host"); !slices.Contains(a, "--context=host") {
		t.Errorf("host context not pinned: %v", a)
	}
}

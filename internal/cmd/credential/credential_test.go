package credential

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kubectl-tenant/kubectl-tenant/internal/cmdutil"
	"github.com/kubectl-tenant/kubectl-tenant/internal/cmdutil/cmdutiltest"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/credential"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant"
)

// TestCacheHitMakesNoAPICall: a valid cached credential is printed as is,
// without building the engine (no host call on the path every kubectl
// request through the context takes).
func TestCacheHitMakesNoAPICall(t *testing.T) {
	cache := filepath.Join(t.TempDir(), "demo.cred")
	cred := credential.ExecCredential([]byte("CERT"), []byte("KEY"), time.Now().Add(10*time.Minute), 10*time.Minute)
	if err := os.WriteFile(cache, cred, 0o600); err != nil {
		t.Fatal(err)
	}
	out, _, err := cmdutiltest.Run(NewCmdCredential, func(o *Options) {
		o.Engine = func() (*tenant.Engine, error) {
			t.Error("the engine was built on a cache hit")
			return nil, errors.New("no engine")
		}
	}, "demo", "--credential-lifetime=10m", "--cache="+cache)
	if err != nil || out != string(cred) {
		t.Fatalf("out %q err %v, want the cached credential", out, err)
	}
}

// TestCacheMissMintsAndARefusalClearsTheCache: an expired cache is a miss;
// the mint's refusal is the command's error and leaves no cache behind.
func TestCacheMissMintsAndARefusalClearsTheCache(t *testing.T) {
	cache := filepath.Join(t.TempDir(), "demo.cred")
	cred := credential.ExecCredential([]byte("CERT"), []byte("KEY"), time.Now().Add(-time.Minute), 10*time.Minute)
	_ = os.WriteFile(cache, cred, 0o600)
	built := false
	_, _, err := cmdutiltest.Run(NewCmdCredential, func(o *Options) {
		o.Engine = func() (*tenant.Engine, error) { built = true; return nil, errors.New("host refused") }
	}, "demo", "--cache="+cache)
	if !built || err == nil || !strings.Contains(err.Error(), "host refused") {
		t.Fatalf("built %v, err %v", built, err)
	}
	if _, err := os.Stat(cache); !os.IsNotExist(err) {
		t.Error("the expired cache stayed")
	}
}

// TestValidate: bad input is a usage error (exit 2).
func TestValidate(t *testing.T) {
	for _, args := range [][]string{
		{"demo", "--credential-lifetime=10s"},
		{"demo", "--credential-lifetime=48h"},
		{"demo", "--cache=relative.cred"},
		{"Not_A_Name"},
	} {
		_, _, err := cmdutiltest.Run(NewCmdCredential, func(o *Options) { t.Errorf("%v ran", args) }, args...)
		if code := cmdutil.ExitCodeFor(t.Context(), err); code != cmdutil.ExitUsage {
			t.Errorf("%v: exit %d (%v), want %d", args, code, err, cmdutil.ExitUsage)
		}
	}
}

package cmdutil

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/kubectl-tenant/kubectl-tenant/pkg/hostconfig"
)

// ChangedFlags are the settings' flags of fs the user set, for a
// hostconfig.Resolver (which ranks them over everything else).
func ChangedFlags(fs *pflag.FlagSet) hostconfig.Flags {
	out := hostconfig.Flags{}
	if fs == nil {
		return out
	}
	for _, s := range hostconfig.Settings {
		fl := fs.Lookup(s.Flag)
		if s.Flag == "" || fl == nil || !fl.Changed {
			continue
		}
		v := fl.Value.String()
		if sv, ok := fl.Value.(pflag.SliceValue); ok {
			v = strings.Join(sv.GetSlice(), ",")
		}
		out[s.Key] = v
	}
	return out
}

// ValidateCounts rejects a negative value of any duration or count flag
// (exit code 2), the same way on every verb: no verb has a use for one
// (`--wait -5s`, `--events -1`), and each used to read it differently. Verbs
// that need a positive value check that themselves.
func ValidateCounts(fs *pflag.FlagSet) error {
	var err error
	fs.VisitAll(func(fl *pflag.Flag) {
		if err != nil {
			return
		}
		negative := false
		switch fl.Value.Type() {
		case "duration":
			d, e := time.ParseDuration(fl.Value.String())
			negative = e == nil && d < 0
		case "int", "int8", "int16", "int32", "int64":
			n, e := strconv.ParseInt(fl.Value.String(), 10, 64)
			negative = e == nil && n < 0
		}
		if negative {
			err = UsageError{fmt.Errorf("--%s must not be negative (got %s)", fl.Name, fl.Value)}
		}
	})
	return err
}

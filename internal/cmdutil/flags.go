package cmdutil

import (
	"fmt"
	"strconv"
	"time"

	"github.com/spf13/pflag"
)

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

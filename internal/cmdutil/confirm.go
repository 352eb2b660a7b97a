package cmdutil

import (
	"bufio"
	"fmt"
	"os"
	"strings"

	"golang.org/x/term"
	"k8s.io/cli-runtime/pkg/genericiooptions"
)

// Confirm asks question on stderr and reads a yes/no answer from stdin; an
// empty answer is def. asked is false (and nothing is printed) when stdin is
// not a terminal: the caller then needs a flag instead.
func Confirm(s genericiooptions.IOStreams, question string, def bool) (yes, asked bool) {
	in, ok := s.In.(*os.File)
	if !ok || !term.IsTerminal(int(in.Fd())) {
		return false, false
	}
	fmt.Fprint(s.ErrOut, question+" ")
	ans, _ := bufio.NewReader(in).ReadString('\n')
	switch strings.ToLower(strings.TrimSpace(ans)) {
	case "y", "yes":
		return true, true
	case "":
		return def, true
	}
	return false, true
}

// Prompter returns Confirm on s, the func the commands' Options take to
// ask (tests give their own answers).
func Prompter(s genericiooptions.IOStreams) func(question string, def bool) (yes, asked bool) {
	return func(question string, def bool) (bool, bool) { return Confirm(s, question, def) }
}

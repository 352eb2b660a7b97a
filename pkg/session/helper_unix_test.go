//go:build !windows

package session

import (
	"os"
	"os/signal"
	"syscall"
)

func signalIgnoreTerm() {
	if os.Getenv("SESSION_TEST_IGNORE_TERM") != "" {
		signal.Ignore(syscall.SIGTERM)
	}
}

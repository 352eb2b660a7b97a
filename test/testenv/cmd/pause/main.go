// Command pause is the sandbox ("pause") container of the playground's real
// nodes: it holds a pod's namespaces, reaps orphaned children and exits on
// SIGINT or SIGTERM, like registry.k8s.io/pause. The playground packs it into
// the image its containerd config names as sandbox_image.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGCHLD)
	for sig := range sigs {
		if sig != syscall.SIGCHLD {
			os.Exit(0)
		}
		for {
			var ws syscall.WaitStatus
			if pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil); pid <= 0 || err != nil {
				break
			}
		}
	}
}

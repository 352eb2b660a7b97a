//go:build !windows

package kubeconfig

import (
	"os"
	"syscall"
)

// keepOwner gives f the owner of old when they differ (best effort: only
// root may, e.g. under sudo).
func keepOwner(f *os.File, old os.FileInfo) {
	st, ok := old.Sys().(*syscall.Stat_t)
	if !ok || (int(st.Uid) == os.Geteuid() && int(st.Gid) == os.Getegid()) {
		return
	}
	_ = f.Chown(int(st.Uid), int(st.Gid))
}

package realnode

import (
	"os/exec"
	"strings"
	"testing"
)

// The disk check of real nodes refuses a file system with too little free
// space (a 64 MiB tmpfs) in one line, reading the nearest existing directory
// of a playground not made yet.
func TestRealNodeDiskPreflight(t *testing.T) {
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Fatalf("mount a small tmpfs (real nodes need root anyway): %v: %s", err, out)
	}
	defer exec.Command("umount", dir).Run()
	err := DiskPreflight(dir + "/not/made/yet")
	if err == nil || !strings.Contains(err.Error(), "need 3 GiB free") || !strings.Contains(err.Error(), "has 0.1 GiB") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("disk preflight on a 64 MiB file system: %v", err)
	}
}

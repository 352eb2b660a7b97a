package kubeconfig

import "os"

// keepOwner: a new file in the same directory inherits its ACL on Windows.
func keepOwner(*os.File, os.FileInfo) {}

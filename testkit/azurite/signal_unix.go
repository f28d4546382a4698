//go:build unix

package azurite

import (
	"os/exec"
	"syscall"
)

// signalGroup signals Azurite's whole process group (node and anything it
// started); the group id is the pid because of Setpgid.
func signalGroup(cmd *exec.Cmd, kill bool) {
	sig := syscall.SIGTERM
	if kill {
		sig = syscall.SIGKILL
	}
	_ = syscall.Kill(-cmd.Process.Pid, sig)
}

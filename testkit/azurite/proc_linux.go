//go:build linux

package azurite

import (
	"os/exec"
	"syscall"
)

// setProcAttr puts Azurite in its own process group (so Stop can kill the group)
// and asks the kernel to kill it if the test binary dies without running its
// cleanups (a go test timeout), so no Azurite outlives the run.
func setProcAttr(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

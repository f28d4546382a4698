//go:build unix && !linux

package azurite

import (
	"os/exec"
	"syscall"
)

// setProcAttr puts Azurite in its own process group so Stop can kill the group.
func setProcAttr(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}

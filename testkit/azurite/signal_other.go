//go:build !unix

package azurite

import "os/exec"

func setProcAttr(*exec.Cmd) {}

// signalGroup has no process groups to use here: it kills the process.
func signalGroup(cmd *exec.Cmd, _ bool) { _ = cmd.Process.Kill() }

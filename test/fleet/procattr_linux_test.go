package fleet

import (
	"os/exec"
	"syscall"
)

// orphanProof makes the kernel kill the child when the test process dies,
// so that a test binary killed on timeout leaves no process behind.
func orphanProof(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}

// Package testproc runs the binaries of the end-to-end, fleet and CLI test
// suites as child processes: their output is kept (bounded) for the test
// log, they die with the test process, and they are killed at cleanup.
package testproc

import (
	"bufio"
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// MaxLogBytes is how much of a child's stdout and stderr is kept (the
// last bytes).
const MaxLogBytes = 1 << 20

// Log is a goroutine-safe buffer for a child's output that keeps about
// the last MaxLogBytes.
type Log struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p, dropping the oldest output beyond twice MaxLogBytes.
func (l *Log) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.b.Write(p)
	if l.b.Len() > 2*MaxLogBytes {
		keep := bytes.Clone(l.b.Bytes()[l.b.Len()-MaxLogBytes:])
		l.b.Reset()
		l.b.Write(keep)
	}
	return len(p), nil
}

// String returns the output kept.
func (l *Log) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Options say what to run.
type Options struct {
	// Name names the process in the test log.
	Name string
	// Bin is the binary; Args its arguments.
	Bin  string
	Args []string
	// Dir is the working directory; empty is the test's.
	Dir string
	// Env is the environment; nil is the test process's.
	Env []string
	// Lines, when not nil, also receives every stdout line (dropped when
	// the channel is full).
	Lines chan<- string
}

// Proc is a running child process.
type Proc struct {
	T      testing.TB
	Name   string
	Cmd    *exec.Cmd
	Stdout *Log
	Stderr *Log

	done  chan struct{} // closed when the process exited
	state *os.ProcessState
}

// Start starts o.Bin. It is killed at cleanup, and its output is logged
// when the test failed.
func Start(t testing.TB, o Options) *Proc {
	t.Helper()
	p := &Proc{T: t, Name: o.Name, Stdout: &Log{}, Stderr: &Log{}, done: make(chan struct{})}
	p.Cmd = exec.Command(o.Bin, o.Args...)
	p.Cmd.Dir, p.Cmd.Env = o.Dir, o.Env
	p.Cmd.SysProcAttr = SysProcAttr()
	p.Cmd.Stderr = p.Stderr
	var pipe io.ReadCloser
	if o.Lines != nil {
		var err error
		if pipe, err = p.Cmd.StdoutPipe(); err != nil {
			t.Fatal(err)
		}
	} else {
		p.Cmd.Stdout = p.Stdout
	}
	if err := p.Cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", o.Name, err)
	}
	var copied sync.WaitGroup
	if pipe != nil {
		copied.Go(func() {
			sc := bufio.NewScanner(pipe)
			for sc.Scan() {
				_, _ = p.Stdout.Write(append(sc.Bytes(), '\n'))
				select {
				case o.Lines <- sc.Text():
				default:
				}
			}
			_, _ = io.Copy(p.Stdout, pipe)
		})
	}
	go func() {
		copied.Wait() // Wait must not close the pipe before it is drained
		_ = p.Cmd.Wait()
		p.state = p.Cmd.ProcessState
		close(p.done)
	}()
	t.Cleanup(func() {
		p.Kill()
		if t.Failed() {
			p.DumpLogs()
		}
	})
	return p
}

// DumpLogs writes the process's output to the test log.
func (p *Proc) DumpLogs() {
	p.T.Logf("--- %s (%s %s) stderr:\n%s", p.Name, filepath.Base(p.Cmd.Path), strings.Join(p.Cmd.Args[1:], " "), p.Stderr.String())
	if out := p.Stdout.String(); out != "" {
		p.T.Logf("--- %s stdout:\n%s", p.Name, out)
	}
}

// Done is closed when the process exited.
func (p *Proc) Done() <-chan struct{} { return p.done }

// Exited reports whether the process exited.
func (p *Proc) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// ExitCode is the exit code of an exited process (-1 when a signal ended
// it).
func (p *Proc) ExitCode() int { <-p.done; return p.state.ExitCode() }

// Pid is the process id.
func (p *Proc) Pid() int { return p.Cmd.Process.Pid }

// Signal sends sig to the process.
func (p *Proc) Signal(sig os.Signal) {
	p.T.Helper()
	if err := p.Cmd.Process.Signal(sig); err != nil {
		p.T.Fatalf("signal %s to %s: %v", sig, p.Name, err)
	}
}

// Wait waits for the process to exit and returns its exit code, minus the
// signal number when a signal ended it; it fails the test when the process
// is still running after timeout.
func (p *Proc) Wait(timeout time.Duration) int {
	p.T.Helper()
	select {
	case <-p.done:
	case <-time.After(timeout):
		p.T.Fatalf("%s still running after %s", p.Name, timeout)
	}
	if ws, ok := p.state.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return -int(ws.Signal())
	}
	return p.state.ExitCode()
}

// Kill kills the process (SIGKILL: no chance to clean up, as in a crash)
// and waits for it.
func (p *Proc) Kill() {
	if !p.Exited() {
		_ = p.Cmd.Process.Kill()
	}
	<-p.done
}

// Stop sends SIGTERM and waits up to timeout for the process to exit.
func (p *Proc) Stop(timeout time.Duration) {
	p.T.Helper()
	if p.Exited() {
		return
	}
	_ = p.Cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(timeout):
		p.T.Fatalf("%s still running %s after SIGTERM", p.Name, timeout)
	}
}

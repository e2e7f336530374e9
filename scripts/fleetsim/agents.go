package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pingap-go/pingap/dataplane/agent"
	pb "github.com/pingap-go/pingap/gen/pingap/v1"
)

// tracker counts, per config name (settings.name, one per version), how
// many nodes applied it, and reports the moment the last one did.
type tracker struct {
	nodes int
	// converged receives the name and the time of the last node's apply,
	// once per name.
	converged chan convergence

	mu    sync.Mutex
	count map[string]int
}

type convergence struct {
	name string
	at   time.Time
}

func newTracker(nodes int) *tracker {
	return &tracker{nodes: nodes, converged: make(chan convergence, 64), count: map[string]int{}}
}

func (t *tracker) applied(name string) {
	now := time.Now()
	t.mu.Lock()
	t.count[name]++
	done := t.count[name] == t.nodes
	t.mu.Unlock()
	if done {
		t.converged <- convergence{name: name, at: now}
	}
}

// noopApplier is a data plane without a proxy: it accepts every snapshot
// and tells the tracker, just before the agent sends its ACK.
type noopApplier struct{ t *tracker }

func (a noopApplier) Apply(snap *pb.Snapshot) error {
	a.t.applied(snap.GetSettings().GetName())
	return nil
}

func (noopApplier) Current() (uint64, string) { return 0, "" }

// runAgents runs n real agents (dataplane/agent, each with its own
// connection and stream) against addr until ctx ends.
func runAgents(ctx context.Context, addr, cluster string, n int, t *tracker) *sync.WaitGroup {
	var wg sync.WaitGroup
	for i := range n {
		ag := agent.New(noopApplier{t}, agent.Options{
			Addr:    addr,
			Node:    &pb.Node{Id: fmt.Sprintf("sim-%05d", i), Cluster: cluster, Labels: map[string]string{"sim": "true"}},
			Backoff: agent.Backoff{Min: 100 * time.Millisecond, Max: 2 * time.Second},
			Logger:  slog.New(slog.DiscardHandler),
		})
		wg.Go(func() { _ = ag.Run(ctx) })
	}
	return &wg
}

// agentsMain is the child process of -agents-process: it runs the agents
// and writes "converged NAME UNIXNANO" to out for each version all of them
// applied, until in (the parent's pipe) closes.
func agentsMain(addr, cluster string, n int, in io.Reader, out io.Writer) error {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	t := newTracker(n)
	wg := runAgents(ctx, addr, cluster, n, t)
	go func() {
		_, _ = io.Copy(io.Discard, in)
		cancel()
	}()
	w := bufio.NewWriter(out)
	for {
		select {
		case c := <-t.converged:
			fmt.Fprintf(w, "converged %s %d\n", c.name, c.at.UnixNano())
			if err := w.Flush(); err != nil {
				return err
			}
		case <-ctx.Done():
			wg.Wait()
			return nil
		}
	}
}

// readConvergence parses the child's lines into ch.
func readConvergence(r io.Reader, ch chan<- convergence) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 3 || f[0] != "converged" {
			continue
		}
		ns, err := strconv.ParseInt(f[2], 10, 64)
		if err != nil {
			continue
		}
		ch <- convergence{name: f[1], at: time.Unix(0, ns)}
	}
}

// Command fleetsim measures how fast a config version reaches a fleet: it
// starts a control plane in this process (controlplane.Start, embedded etcd
// in a temporary directory), opens N discovery streams with the real
// data-plane agent (dataplane/agent) and a no-op Applier instead of a
// proxy, applies versions through the store and records, per apply, the
// time from Apply returning to the moment the last node applied it (the
// Applier runs just before the agent sends its ACK), and the time until
// the control plane's fleet status (store.Nodes, what the admin API shows)
// reports every node SYNCED on it. It prints p50/p99/max and memory.
//
//	go run ./scripts/fleetsim -nodes 1000 -applies 20
//
// By default the agents run in this process too, so its RSS includes them;
// -agents-process runs them in a child process instead, so that this
// process's RSS and heap are the control plane's alone (with its embedded
// etcd).
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/pingap-go/pingap/config"
	"github.com/pingap-go/pingap/controlplane"
	"github.com/pingap-go/pingap/controlplane/store"
	pb "github.com/pingap-go/pingap/gen/pingap/v1"
)

type options struct {
	nodes, applies, locations int
	healthInterval, timeout   time.Duration
	agentsProcess, status     bool
	// child mode
	agentsOnly bool
	addr       string
}

const cluster = "sim"

func main() {
	var o options
	flag.IntVar(&o.nodes, "nodes", 1000, "number of agent streams")
	flag.IntVar(&o.applies, "applies", 20, "versions applied and measured (after the first, which the nodes get on connect)")
	flag.IntVar(&o.locations, "locations", 100, "locations in each snapshot (its size)")
	flag.DurationVar(&o.healthInterval, "health-interval", 10*time.Second, "data-plane health report interval (the control plane's default)")
	flag.DurationVar(&o.timeout, "timeout", 2*time.Minute, "how long one apply may take to converge")
	flag.BoolVar(&o.agentsProcess, "agents-process", false, "run the agents in a child process, so this process's memory is the control plane's alone")
	flag.BoolVar(&o.status, "status", true, "also time until store.Nodes shows every node SYNCED")
	flag.BoolVar(&o.agentsOnly, "agents-only", false, "internal: be the agents' child process")
	flag.StringVar(&o.addr, "addr", "", "internal: the control plane's gRPC address, with -agents-only")
	flag.Parse()
	raiseFileLimit()
	if o.agentsOnly {
		if err := agentsMain(o.addr, cluster, o.nodes, os.Stdin, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "fleetsim agents:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "fleetsim:", err)
		os.Exit(1)
	}
}

func run(o options) error {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dir, err := os.MkdirTemp("", "fleetsim-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	cp, err := controlplane.Start(ctx, controlplane.Options{
		DataDir: dir, GRPCAddr: "127.0.0.1:0", AdminAddr: "127.0.0.1:0", ServerID: "fleetsim",
		HealthInterval: o.healthInterval,
		Logger:         slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		return err
	}
	defer cp.Close()
	st := cp.Store()
	if _, err := apply(ctx, st, o.locations, 1); err != nil {
		return err
	}
	base := readMem()

	converged := make(chan convergence, 64)
	var child *exec.Cmd
	if o.agentsProcess {
		if child, err = startChild(o, cp.GRPCAddr(), converged); err != nil {
			return err
		}
		defer stopChild(child)
	} else {
		t := newTracker(o.nodes)
		converged = t.converged
		actx, stop := context.WithCancel(ctx)
		wg := runAgents(actx, cp.GRPCAddr(), cluster, o.nodes, t)
		defer func() { stop(); wg.Wait() }()
	}
	start := time.Now()
	if _, err := await(converged, "v1", o.timeout); err != nil {
		return fmt.Errorf("connecting %d agents: %w", o.nodes, err)
	}
	fmt.Printf("%d agents connected and running v1 after %v\n", o.nodes, time.Since(start).Round(time.Millisecond))

	var acks, status []time.Duration
	for i := range o.applies {
		v := i + 2
		applied, err := apply(ctx, st, o.locations, v)
		if err != nil {
			return err
		}
		last, err := await(converged, name(v), o.timeout)
		if err != nil {
			return fmt.Errorf("apply %d: %w", v, err)
		}
		acks = append(acks, last.Sub(applied))
		if o.status {
			d, err := awaitStatus(ctx, st, uint64(v), o.nodes, applied, o.timeout)
			if err != nil {
				return err
			}
			status = append(status, d)
		}
	}
	final := readMem()
	report(o, acks, status, base, final, child)
	return nil
}

// name is the settings.name of version v's snapshot: the Applier tells
// versions apart by it.
func name(v int) string { return fmt.Sprintf("v%d", v) }

// snapshot is a config of some size: 10 upstreams, n locations, 1 server.
func snapshot(v, n int) *pb.Snapshot {
	s := &pb.Snapshot{
		Settings:  &pb.Settings{Name: name(v)},
		Upstreams: map[string]*pb.Upstream{},
		Locations: map[string]*pb.Location{},
		Servers:   map[string]*pb.Server{"web": {Addr: "127.0.0.1:8080"}},
	}
	for i := range 10 {
		s.Upstreams[fmt.Sprintf("svc%d", i)] = &pb.Upstream{Addrs: []string{fmt.Sprintf("10.0.%d.1:8080", i), fmt.Sprintf("10.0.%d.2:8080", i)}}
	}
	for i := range n {
		loc := fmt.Sprintf("loc%04d", i)
		s.Locations[loc] = &pb.Location{Path: fmt.Sprintf("/api/svc%d/v%d", i, 1+i%3), Upstream: fmt.Sprintf("svc%d", i%10)}
		s.Servers["web"].Locations = append(s.Servers["web"].Locations, loc)
	}
	slices.Sort(s.Servers["web"].Locations)
	return s
}

// apply validates and stores version v and returns when Apply returned.
func apply(ctx context.Context, st *store.Store, locations, v int) (time.Time, error) {
	snap := snapshot(v, locations)
	if err := config.Validate(snap, nil); err != nil {
		return time.Time{}, fmt.Errorf("snapshot %d: %w", v, err)
	}
	info, created, err := st.Apply(ctx, cluster, snap, store.ApplyMeta{Author: "fleetsim", Message: name(v)})
	if err != nil {
		return time.Time{}, err
	}
	if !created || info.GetVersion() != uint64(v) {
		return time.Time{}, fmt.Errorf("apply %d: got version %d (created %v)", v, info.GetVersion(), created)
	}
	return time.Now(), nil
}

// await waits for the convergence of version name.
func await(ch <-chan convergence, name string, timeout time.Duration) (time.Time, error) {
	t := time.NewTimer(timeout)
	defer t.Stop()
	for {
		select {
		case c := <-ch:
			if c.name == name {
				return c.at, nil
			}
		case <-t.C:
			return time.Time{}, fmt.Errorf("%s not applied by every node after %v", name, timeout)
		}
	}
}

// awaitStatus polls the fleet status until all n nodes are SYNCED on v and
// returns the time since applied.
func awaitStatus(ctx context.Context, st *store.Store, v uint64, n int, applied time.Time, timeout time.Duration) (time.Duration, error) {
	deadline := time.Now().Add(timeout)
	for {
		nodes, err := st.Nodes(ctx, cluster)
		if err != nil {
			return 0, err
		}
		synced := 0
		for _, nd := range nodes {
			if nd.GetState() == pb.NodeState_NODE_STATE_SYNCED && nd.GetRunningVersion() == v {
				synced++
			}
		}
		if synced == n {
			return time.Since(applied), nil
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("v%d: %d of %d nodes SYNCED in store.Nodes after %v", v, synced, n, timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// startChild starts this program as the agents' process and forwards its
// convergence lines to ch.
func startChild(o options, addr string, ch chan<- convergence) (*exec.Cmd, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(self, "-agents-only", "-addr", addr, "-nodes", fmt.Sprint(o.nodes))
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = childAttr()
	if _, err := cmd.StdinPipe(); err != nil { // closed when we exit: the child stops
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	go readConvergence(out, ch)
	return cmd, nil
}

func stopChild(cmd *exec.Cmd) {
	_ = cmd.Process.Signal(syscall.SIGTERM)
	_ = cmd.Wait()
}

// raiseFileLimit lifts the open-file limit to its hard limit: every stream
// is a connection (two descriptors in one process).
func raiseFileLimit() {
	var l syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l) == nil && l.Cur < l.Max {
		l.Cur = l.Max
		_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l)
	}
}

// mem is a memory reading of this process.
type mem struct {
	rssKB, hwmKB                    int64 // VmRSS, VmHWM
	heapInuse, stackInuse, sysBytes uint64
}

func readMem() mem {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	m := mem{heapInuse: ms.HeapInuse, stackInuse: ms.StackInuse, sysBytes: ms.Sys}
	m.rssKB, m.hwmKB = procStatus(os.Getpid())
	return m
}

// procStatus reads VmRSS and VmHWM (kB) of pid from /proc (0 elsewhere).
func procStatus(pid int) (rss, hwm int64) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		var v int64
		if n, _ := fmt.Sscanf(line, "VmRSS: %d kB", &v); n == 1 {
			rss = v
		}
		if n, _ := fmt.Sscanf(line, "VmHWM: %d kB", &v); n == 1 {
			hwm = v
		}
	}
	return rss, hwm
}

func report(o options, acks, status []time.Duration, base, final mem, child *exec.Cmd) {
	w := os.Stdout
	fmt.Fprintf(w, "nodes %d, applies %d, snapshot %d locations (%d bytes), GOMAXPROCS %d\n",
		o.nodes, len(acks), o.locations, protoSize(snapshot(2, o.locations)), runtime.GOMAXPROCS(0))
	fmt.Fprintf(w, "apply -> last node applied (ACK sent): %s\n", summary(acks))
	if len(status) > 0 {
		fmt.Fprintf(w, "apply -> store.Nodes shows all SYNCED:  %s (polled every 20ms)\n", summary(status))
	}
	mb := func(b uint64) string { return fmt.Sprintf("%.0f MB", float64(b)/(1<<20)) }
	kb := func(k int64) string { return fmt.Sprintf("%.0f MB", float64(k)/1024) }
	who := "control plane + embedded etcd + agents"
	if child != nil {
		who = "control plane + embedded etcd (agents in pid " + fmt.Sprint(child.Process.Pid) + ")"
	}
	fmt.Fprintf(w, "this process (%s): VmRSS %s, peak VmHWM %s, Go heap in use %s, goroutine stacks %s, Go runtime total (Sys) %s\n",
		who, kb(final.rssKB), kb(final.hwmKB), mb(final.heapInuse), mb(final.stackInuse), mb(final.sysBytes))
	fmt.Fprintf(w, "  before any agent connected: VmRSS %s, heap in use %s, stacks %s\n", kb(base.rssKB), mb(base.heapInuse), mb(base.stackInuse))
	if child != nil {
		rss, hwm := procStatus(child.Process.Pid)
		fmt.Fprintf(w, "agents' process: VmRSS %s, peak VmHWM %s\n", kb(rss), kb(hwm))
	}
}

func summary(ds []time.Duration) string {
	if len(ds) == 0 {
		return "no samples"
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	pct := func(p float64) time.Duration { // nearest rank
		i := int(p*float64(len(s))+0.999999) - 1
		return s[max(0, min(i, len(s)-1))]
	}
	r := func(d time.Duration) string { return d.Round(100 * time.Microsecond).String() }
	return fmt.Sprintf("p50 %s, p99 %s, max %s, min %s", r(pct(0.50)), r(pct(0.99)), r(s[len(s)-1]), r(s[0]))
}

func protoSize(s *pb.Snapshot) int { return proto.Size(s) }

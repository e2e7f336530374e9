package runtime

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Describe renders the compiled runtime as stable text: each server's
// listener settings and routing table, each upstream's targets. Golden
// tests compare it; operators can read it to see how a config compiles.
func (rt *Runtime) Describe() string {
	var b strings.Builder
	fmt.Fprintf(&b, "grace_period: %s\n", rt.grace)
	for _, name := range slices.Sorted(maps.Keys(rt.servers)) {
		s := rt.servers[name]
		ls := s.Listener
		fmt.Fprintf(&b, "\nserver %s listen %s\n", name, strings.Join(s.Addrs, ", "))
		fmt.Fprintf(&b, "  read_header_timeout=%s read_timeout=%s write_timeout=%s idle_timeout=%s max_header_bytes=%d\n",
			ls.ReadHeaderTimeout, ls.ReadTimeout, ls.WriteTimeout, ls.IdleTimeout, ls.MaxHeaderBytes)
		for _, line := range strings.Split(strings.TrimRight(s.Handler.Routes(), "\n"), "\n") {
			fmt.Fprintf(&b, "  %s\n", line)
		}
	}
	for _, n := range slices.Sorted(maps.Keys(rt.upstreams)) {
		u := rt.upstreams[n]
		algo := u.Config().GetAlgo()
		if algo == "" {
			algo = "round_robin"
		}
		fmt.Fprintf(&b, "\nupstream %s algo %s\n", n, algo)
		for _, t := range u.Targets() {
			fmt.Fprintf(&b, "  %s weight %d\n", t.Addr(), t.Weight())
		}
	}
	return b.String()
}

// Package upstream provides the data plane's backend pools: the targets of an
// upstream, the load balancers that pick one per request, and the pooled
// keep-alive transport the proxy forwards requests with.
//
// An [Upstream] is built once from its config by [New] and is immutable after
// that, except for per-target runtime state: the in-flight request count
// ([Target.Begin]) and the health state. The runtime keeps an Upstream across
// config reloads when its config is unchanged, so health state and idle
// connections survive a swap; when the config changed, the new Upstream is
// built with [Options.Previous] and inherits the health state of the targets
// it keeps. [Upstream.Start] starts the active health checks and
// [Upstream.Close] stops them when a reload retires the upstream.
//
// # Health
//
// A target is usable ([Target.Healthy]) when the active health check, if
// any, says it is healthy and passive outlier detection has not ejected it.
// Active checks (health.go, one file per scheme: tcp, http and https, grpc)
// probe every target every check_frequency and flip its health after
// `failure` failures or `success` passes in a row. Outlier detection
// (outlier.go) counts the outcomes the proxy reports with [Target.Observe],
// ejects a target after consecutive_failures failures for a time that
// doubles with each ejection, and afterwards lets exactly one request through
// (half-open) to decide whether it comes back. A usable target costs the
// balancers one atomic load. See docs/health.md for the user's view.
//
// # Balancers
//
// The algo field selects a balancer from a read-only registry keyed by
// [config.AlgoKind]; every balancer lives in its own file:
//
//   - round_robin: smooth weighted round robin (the algorithm nginx uses).
//     Picks interleave: weights 5,1,1 give a a b a c a a. The schedule of one
//     cycle is computed at build time, so a pick is one atomic increment.
//   - least_conn: the target with the fewest in-flight requests relative to
//     its weight. Ties start from the smooth weighted round robin position, so
//     idle targets share by weight and equal targets take turns.
//   - random: power of two choices. Two targets are drawn at random in
//     proportion to their weights and the less loaded one (in-flight relative
//     to weight) wins; on a tie the first draw wins, so an evenly loaded pool
//     is used exactly in proportion to weight.
//   - hash:ip, hash:url, hash:header:NAME, hash:cookie:NAME, hash:query:NAME:
//     consistent hashing with bounded loads, see below.
//
// All balancers skip targets that are not usable; when no target is usable,
// Pick returns [ErrNoTarget], or with fail_open picks among all targets by
// the same algorithm, health ignored.
//
// # Consistent hashing with bounded loads
//
// Each target owns virtual nodes on a 64-bit hash ring, 1024 per unit of
// weight (scaled down proportionally when an upstream's total weight exceeds
// 128, so a ring never exceeds 131072 entries). A virtual node's position is
// FNV-1a of the target's address and the node's index, finished with the
// murmur3 64-bit mixer; a key is hashed the same way. Nothing is seeded, so
// every data plane in a fleet maps a key to the same target, and the order of
// addrs in the config does not matter.
//
// A key goes to the first target clockwise from its hash that is healthy and
// whose in-flight count is below ceil(1.25 * (m+1) * w / W), where m is the
// upstream's in-flight requests, w the target's weight and W the healthy
// targets' total weight (Mirrokni, Thorup and Zadimoghaddam, "Consistent
// Hashing with Bounded Loads"). A hot key therefore spills over to the next
// targets on the ring instead of overloading its own.
//
// A ring is used rather than Maglev because a ring gives exact minimal
// disruption: removing a target moves only the keys it owned, and adding one
// moves only the keys the new target takes over (about 1/n). Maglev's lookup
// table reshuffles a small share of unrelated keys on every change, which
// breaks session affinity and cache locality for keys whose target did not
// change. The ring's lookup is a binary search, which is fast enough here.
// (Minimal disruption is exact while the total weight is at most 128; above,
// the per-weight virtual node count depends on the total, and a change of the
// total also moves the keys of the few virtual nodes added or dropped.)
//
// The key of hash:url is the request URI (path and query, as
// r.URL.RequestURI()); of hash:header:NAME the first value of the header; of
// hash:cookie:NAME the cookie's value; of hash:query:NAME the first value of
// the query parameter, unescaped. When the key is missing or empty (no such
// header, cookie or parameter; an invalid client IP), the request has no
// affinity to keep, and it is balanced by smooth weighted round robin instead
// of piling every keyless request onto the one target that owns the empty
// string.
//
// # Transport
//
// Each Upstream has one transport with its own keep-alive pool: the
// synchronous HTTP/1.1 client of package h1client when alpn is h1 (the
// default), else a [net/http.Transport] for h2, h2c and h2h1; see
// [Upstream.Transport] for the settings.
package upstream

package router

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"net"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// This file checks Match against a slow reference that follows the package
// documentation literally: find every location whose host and path match,
// sort them by the priority rules, take the first.

type refHost struct {
	kind  int // 0 exact, 1 wildcard, 2 regex
	value string
	re    *regexp.Regexp
}

func refNormalize(h string) string {
	if hh, _, err := net.SplitHostPort(h); err == nil {
		h = hh
	} else if strings.HasPrefix(h, "[") && strings.HasSuffix(h, "]") {
		h = h[1 : len(h)-1]
	}
	return strings.TrimSuffix(strings.ToLower(h), ".")
}

func refParseHosts(s string) []refHost {
	var out []refHost
	if strings.TrimSpace(s) == "" {
		return nil
	}
	for _, p := range strings.Split(s, ",") {
		p = strings.TrimSpace(p)
		switch {
		case strings.HasPrefix(p, "~"):
			out = append(out, refHost{kind: 2, re: regexp.MustCompile(p[1:])})
		case strings.HasPrefix(p, "*."):
			out = append(out, refHost{kind: 1, value: strings.TrimSuffix(strings.ToLower(p[1:]), ".")})
		default:
			out = append(out, refHost{kind: 0, value: refNormalize(p)})
		}
	}
	return out
}

// refKey is the priority of one matching location; smaller sorts first.
type refKey struct {
	unweighted int
	negWeight  int64
	hostKind   int // 0 exact, 1 wildcard, 2 regex, 3 any
	negSuffix  int
	pathKind   int // 0 exact, 1 prefix, 2 regex
	negPrefix  int
	name       string
}

func compareRef(a, b refKey) int {
	return cmp.Or(
		cmp.Compare(a.unweighted, b.unweighted),
		cmp.Compare(a.negWeight, b.negWeight),
		cmp.Compare(a.hostKind, b.hostKind),
		cmp.Compare(a.negSuffix, b.negSuffix),
		cmp.Compare(a.pathKind, b.pathKind),
		cmp.Compare(a.negPrefix, b.negPrefix),
		cmp.Compare(a.name, b.name),
	)
}

func refMatch(entries []Entry[string], host, path string) (string, bool) {
	h := refNormalize(host)
	type hit struct {
		key   refKey
		value string
	}
	var hits []hit
	for _, en := range entries {
		k := refKey{unweighted: 1, name: en.Name}
		if en.Weight != nil {
			k.unweighted, k.negWeight = 0, -int64(*en.Weight)
		}
		// Host: the best pattern that matches.
		pats := refParseHosts(en.Host)
		if len(pats) == 0 {
			k.hostKind = 3
		} else {
			k.hostKind = 4
			for _, p := range pats {
				switch {
				case p.kind == 0 && p.value == h:
					k.hostKind, k.negSuffix = 0, 0
				case p.kind == 1 && strings.HasSuffix(h, p.value) && len(h) > len(p.value) && k.hostKind >= 1:
					if k.hostKind > 1 || -len(p.value) < k.negSuffix {
						k.hostKind, k.negSuffix = 1, -len(p.value)
					}
				case p.kind == 2 && p.re.MatchString(h) && k.hostKind > 2:
					k.hostKind = 2
				}
			}
			if k.hostKind == 4 {
				continue
			}
		}
		// Path.
		p := strings.TrimSpace(en.Path)
		switch {
		case p == "":
			k.pathKind, k.negPrefix = 1, -1
			if !strings.HasPrefix(path, "/") {
				continue
			}
		case p[0] == '=':
			k.pathKind = 0
			if path != p[1:] {
				continue
			}
		case p[0] == '~':
			k.pathKind = 2
			if !regexp.MustCompile(p[1:]).MatchString(path) {
				continue
			}
		default:
			k.pathKind, k.negPrefix = 1, -len(p)
			if !strings.HasPrefix(path, p) {
				continue
			}
		}
		hits = append(hits, hit{k, en.Value})
	}
	if len(hits) == 0 {
		return "", false
	}
	best := slices.MinFunc(hits, func(a, b hit) int { return compareRef(a.key, b.key) })
	return best.value, true
}

var (
	propHosts = []string{
		"a.com", "b.a.com", "x.b.a.com", "c.org", "A.Com", "[::1]", "x.com",
		"*.a.com", "*.b.a.com", "*.com", "*.org", "*.A.COM",
		`~^x`, `~a\.com$`, `~^[ab]\.`, `~org`, `~^$`,
	}
	propPaths  = []string{"", "/", "/a", "/ab", "/a/b", "/b", "=/a", "=/a/b", "=/", `~^/a`, `~b$`, `~^/a/.`, "/a/"}
	propWeight = []int32{-3, -1, 0, 1, 2, 5}
	reqHosts   = []string{
		"a.com", "b.a.com", "x.b.a.com", "y.b.a.com", "x.a.com", "xa.com", "c.org", "d.org",
		"x.com", "x.y.com", "zz", "", "[::1]:8080", "::1", "x.c.org", "b.com",
	}
	reqPaths = []string{"/", "/a", "/ab", "/a/b", "/b", "/abc", "/a/bc", "", "/c", "/a/"}
)

// randomEntries makes a route set of up to 24 locations from small pools so
// that patterns overlap often.
func randomEntries(rng *rand.Rand) []Entry[string] {
	n := rng.IntN(25)
	names := rng.Perm(n)
	entries := make([]Entry[string], n)
	for i := range entries {
		var host string
		switch rng.IntN(4) {
		case 0: // any host
		case 1, 2:
			host = propHosts[rng.IntN(len(propHosts))]
		default:
			k := 2 + rng.IntN(2)
			parts := make([]string, k)
			for j := range parts {
				parts[j] = propHosts[rng.IntN(len(propHosts))]
			}
			host = strings.Join(parts, ", ")
		}
		name := fmt.Sprintf("n%02d", names[i])
		entries[i] = Entry[string]{Name: name, Host: host, Path: propPaths[rng.IntN(len(propPaths))], Value: name}
		if rng.IntN(5) == 0 {
			w := propWeight[rng.IntN(len(propWeight))]
			entries[i].Weight = &w
		}
	}
	return entries
}

func randomRequest(rng *rand.Rand) (string, string) {
	h := reqHosts[rng.IntN(len(reqHosts))]
	if rng.IntN(4) == 0 {
		h = strings.ToUpper(h)
	}
	if rng.IntN(4) == 0 && h != "" && !strings.Contains(h, ":") {
		h += "."
	}
	if rng.IntN(4) == 0 && !strings.Contains(h, ":") {
		h += ":8080"
	}
	return h, reqPaths[rng.IntN(len(reqPaths))]
}

func TestMatchAgreesWithReference(t *testing.T) {
	t.Parallel()
	sets := 1000
	if testing.Short() {
		sets = 200
	}
	for seed := range uint64(sets) {
		rng := rand.New(rand.NewPCG(seed, 42))
		entries := randomEntries(rng)
		r, err := New(entries)
		if err != nil {
			t.Fatalf("seed %d: New: %v", seed, err)
		}
		for range 100 {
			host, path := randomRequest(rng)
			got, gotOK := r.Match(host, path)
			want, wantOK := refMatch(entries, host, path)
			if got != want || gotOK != wantOK {
				t.Fatalf("seed %d: Match(%q, %q) = %q, %v; reference %q, %v\nentries:\n%s%s",
					seed, host, path, got, gotOK, want, wantOK, describe(entries), r)
			}
		}
	}
}

func describe(entries []Entry[string]) string {
	var sb strings.Builder
	for _, en := range entries {
		w := "-"
		if en.Weight != nil {
			w = fmt.Sprint(*en.Weight)
		}
		fmt.Fprintf(&sb, "  %s host=%q path=%q weight=%s\n", en.Name, en.Host, en.Path, w)
	}
	return sb.String()
}

package router

import (
	"fmt"
	"testing"
)

// benchEntries is a 200-location route set: 40 hosts with 4 paths each, 10
// wildcard, 10 regex-host and 20 any-host locations.
func benchEntries() []Entry[int] {
	var entries []Entry[int]
	add := func(name, host, path string) {
		entries = append(entries, Entry[int]{Name: name, Host: host, Path: path, Value: len(entries)})
	}
	for h := range 40 {
		host := fmt.Sprintf("svc%d.example.com", h)
		add(fmt.Sprintf("h%d-api", h), host, "/api")
		add(fmt.Sprintf("h%d-login", h), host, "=/login")
		add(fmt.Sprintf("h%d-static", h), host, "/static/")
		add(fmt.Sprintf("h%d-img", h), host, `~\.(png|jpg)$`)
	}
	for w := range 10 {
		add(fmt.Sprintf("w%d", w), fmt.Sprintf("*.zone%d.example.org", w), "/")
	}
	for x := range 10 {
		add(fmt.Sprintf("r%d", x), fmt.Sprintf(`~^tenant%d-[a-z]+\.example\.net$`, x), "/")
	}
	for a := range 20 {
		add(fmt.Sprintf("any%d", a), "", fmt.Sprintf("/any%d/", a))
	}
	add("any-root", "", "/")
	return entries
}

var benchCases = []struct {
	desc, host, path string
	allocFree        bool // checked with testing.AllocsPerRun (no regex on the way)
}{
	{"exact host, prefix path", "svc17.example.com", "/api/users/42", true},
	{"exact host with port, exact path", "svc3.example.com:8443", "/login", true},
	{"exact host, falls to any-host", "svc3.example.com", "/any7/x", true},
	{"wildcard host", "a.b.zone4.example.org", "/x", true},
	{"unknown host, any-host", "unknown.example.io", "/any19/x", true},
	{"unknown host, root", "unknown.example.io.", "/", true},
	{"exact host, regex path", "svc9.example.com", "/img/a.png", false},
	{"regex host", "tenant7-acme.example.net", "/x", false},
	{"upper-case host", "SVC17.Example.Com", "/api", false},
}

func BenchmarkMatch(b *testing.B) {
	r, err := New(benchEntries())
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range benchCases {
		b.Run(bc.desc, func(b *testing.B) {
			if _, ok := r.Match(bc.host, bc.path); !ok {
				b.Fatalf("no match for %s%s", bc.host, bc.path)
			}
			b.ReportAllocs()
			for b.Loop() {
				r.Match(bc.host, bc.path)
			}
		})
	}
}

func BenchmarkNew(b *testing.B) {
	entries := benchEntries()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := New(entries); err != nil {
			b.Fatal(err)
		}
	}
}

// TestMatchDoesNotAllocate is not parallel: testing.AllocsPerRun refuses to
// run in parallel tests.
func TestMatchDoesNotAllocate(t *testing.T) {
	r, err := New(benchEntries())
	if err != nil {
		t.Fatal(err)
	}
	for _, bc := range benchCases {
		if !bc.allocFree {
			continue
		}
		t.Run(bc.desc, func(t *testing.T) {
			if _, ok := r.Match(bc.host, bc.path); !ok {
				t.Fatalf("no match for %s%s", bc.host, bc.path)
			}
			if n := testing.AllocsPerRun(200, func() { r.Match(bc.host, bc.path) }); n != 0 {
				t.Errorf("Match(%q, %q) allocates %v times per call, want 0", bc.host, bc.path, n)
			}
		})
	}
}

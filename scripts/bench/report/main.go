// Command report turns the raw measurements of scripts/bench/run.sh into the
// Markdown tables of docs/benchmarks.md: one table per test with the median
// of every column across rounds, the ratio to nginx taken within each round
// (median of the ratios), idle memory, and the project's targets.
//
// Inputs (tab-separated, the first line of -runs is a header):
//
//	-runs  test round proxy rps p50_ms p99_ms cpu_us rss_kb requests errors
//	-idle  proxy rss_kb
//	-na    test proxy reason
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
)

type run struct {
	test, proxy string
	round       int
	rps         float64
	p50, p99    float64
	cpuUS       float64
	rssKB       float64
	errors      float64
}

var (
	testOrder  = []string{"h1-13", "h1-4k", "h1-100k", "h2-13"}
	proxyOrder = []string{"nginx", "haproxy", "pingap", "pingap-gmp2"}
	proxyLabel = map[string]string{
		"nginx":       "nginx (1 worker)",
		"haproxy":     "haproxy (nbthread 1)",
		"pingap":      "pingap (GOMAXPROCS=1)",
		"pingap-gmp2": "pingap (GOMAXPROCS=2, unpinned)",
	}
)

func main() {
	runsPath := flag.String("runs", "", "measurements (TSV)")
	idlePath := flag.String("idle", "", "idle memory (TSV)")
	naPath := flag.String("na", "", "tests not measured, with the reason (TSV)")
	duration := flag.String("duration", "10s", "length of each run, for the titles")
	conns := flag.String("connections", "50", "client connections, for the titles")
	streams := flag.String("streams", "10", "HTTP/2 streams per connection, for the titles")
	flag.Parse()

	runs, err := readRuns(*runsPath)
	if err != nil {
		fail(err)
	}
	idle, err := readTable(*idlePath, 2)
	if err != nil {
		fail(err)
	}
	na, err := readTable(*naPath, 3)
	if err != nil {
		fail(err)
	}
	r := report{runs: runs, na: map[string]string{}, idle: map[string]float64{}}
	for _, row := range na {
		r.na[row[0]+"/"+row[1]] = row[2]
	}
	for _, row := range idle {
		v, err := strconv.ParseFloat(row[1], 64)
		if err != nil {
			fail(fmt.Errorf("%s: %v", *idlePath, err))
		}
		r.idle[row[0]] = v
	}
	titles := map[string]string{
		"h1-13":   fmt.Sprintf("HTTP/1.1, 13-byte body (`/13`): wrk -t1 -c%s -d%s", *conns, *duration),
		"h1-4k":   fmt.Sprintf("HTTP/1.1, 4 KiB body (`/4k`): wrk -t1 -c%s -d%s", *conns, *duration),
		"h1-100k": fmt.Sprintf("HTTP/1.1, 100 KiB body (`/100k`): wrk -t1 -c%s -d%s", *conns, *duration),
		"h2-13":   fmt.Sprintf("HTTP/2 over TLS, 13-byte body (`/13`): h2load -t1 -c%s -m%s -D%s", *conns, *streams, *duration),
	}
	w := bufio.NewWriter(os.Stdout)
	r.write(w, titles)
	if err := w.Flush(); err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "report:", err)
	os.Exit(1)
}

// readTable reads a TSV file whose rows have at least n columns; the last
// column keeps any further tabs. A missing path is an empty table.
func readTable(path string, n int) ([][]string, error) {
	if path == "" {
		return nil, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var rows [][]string
	for i, line := range strings.Split(strings.TrimRight(string(data), "\n"), "\n") {
		if line == "" {
			continue
		}
		row := strings.SplitN(line, "\t", n)
		if len(row) < n {
			return nil, fmt.Errorf("%s:%d: %d columns, want %d", path, i+1, len(row), n)
		}
		rows = append(rows, row)
	}
	return rows, nil
}

func readRuns(path string) ([]run, error) {
	rows, err := readTable(path, 10)
	if err != nil {
		return nil, err
	}
	var runs []run
	for i, row := range rows {
		if i == 0 && row[0] == "test" {
			continue // header
		}
		var f [7]float64
		for j := range f {
			if f[j], err = strconv.ParseFloat(strings.TrimSpace(row[3+j]), 64); err != nil {
				return nil, fmt.Errorf("%s:%d: column %d: %v", path, i+1, 4+j, err)
			}
		}
		round, err := strconv.Atoi(row[1])
		if err != nil {
			return nil, fmt.Errorf("%s:%d: round: %v", path, i+1, err)
		}
		runs = append(runs, run{
			test: row[0], round: round, proxy: row[2],
			rps: f[0], p50: f[1], p99: f[2], cpuUS: f[3], rssKB: f[4], errors: f[6],
		})
	}
	return runs, nil
}

type report struct {
	runs []run
	na   map[string]string
	idle map[string]float64
}

// summary is the median of one proxy's runs in one test.
type summary struct {
	n                          int
	rps, p50, p99, cpuUS, rss  float64
	rpsRatio, cpuRatio, errors float64
}

func (r *report) summarize(test, proxy string) (summary, bool) {
	var s summary
	var rps, p50, p99, cpu, rss, rpsRatio, cpuRatio []float64
	for _, x := range r.runs {
		if x.test != test || x.proxy != proxy {
			continue
		}
		rps = append(rps, x.rps)
		p50 = append(p50, x.p50)
		p99 = append(p99, x.p99)
		cpu = append(cpu, x.cpuUS)
		rss = append(rss, x.rssKB/1024)
		s.errors += x.errors
		if ref, ok := r.find(test, "nginx", x.round); ok && ref.rps > 0 && ref.cpuUS > 0 {
			rpsRatio = append(rpsRatio, x.rps/ref.rps)
			cpuRatio = append(cpuRatio, x.cpuUS/ref.cpuUS)
		}
	}
	s.n = len(rps)
	if s.n == 0 {
		return s, false
	}
	s.rps, s.p50, s.p99, s.cpuUS, s.rss = median(rps), median(p50), median(p99), median(cpu), median(rss)
	s.rpsRatio, s.cpuRatio = median(rpsRatio), median(cpuRatio)
	return s, true
}

func (r *report) find(test, proxy string, round int) (run, bool) {
	for _, x := range r.runs {
		if x.test == test && x.proxy == proxy && x.round == round {
			return x, true
		}
	}
	return run{}, false
}

// median of the values; NaN when there are none.
func median(v []float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func (r *report) write(w io.Writer, titles map[string]string) {
	rounds := 0
	for _, x := range r.runs {
		rounds = max(rounds, x.round)
	}
	p := func(format string, a ...any) { _, _ = fmt.Fprintf(w, format, a...) }
	p("Each cell is the median over %d round(s); the ratios to nginx are taken within each round, then the median of them. ", rounds)
	p("CPU µs/req is the proxy's utime+stime (all its processes) over the run divided by the requests completed; ")
	p("RSS is VmRSS at the end of the run (nginx: master + worker).\n\n")
	for _, test := range testOrder {
		if !r.hasTest(test) {
			continue
		}
		p("### %s\n\n", titles[test])
		p("| proxy | req/s | p50 ms | p99 ms | CPU µs/req | RSS MB | req/s ÷ nginx | CPU/req ÷ nginx | errors |\n")
		p("|---|---:|---:|---:|---:|---:|---:|---:|---:|\n")
		for _, proxy := range proxyOrder {
			if reason, ok := r.na[test+"/"+proxy]; ok {
				p("| %s | n/a: %s | | | | | | | |\n", proxyLabel[proxy], reason)
				continue
			}
			s, ok := r.summarize(test, proxy)
			if !ok {
				continue
			}
			p("| %s | %s | %.2f | %.2f | %.1f | %.1f | %s | %s | %.0f |\n", proxyLabel[proxy], thousands(s.rps),
				s.p50, s.p99, s.cpuUS, s.rss, ratio(s.rpsRatio), ratio(s.cpuRatio), s.errors)
		}
		p("\n")
	}
	if len(r.idle) > 0 {
		p("### Idle memory (VmRSS after start-up, before any load)\n\n| proxy | RSS MB |\n|---|---:|\n")
		for _, proxy := range proxyOrder {
			if kb, ok := r.idle[proxy]; ok {
				p("| %s | %.1f |\n", proxyLabel[proxy], kb/1024)
			}
		}
		p("\n")
	}
	r.writeTargets(p)
}

func (r *report) hasTest(test string) bool {
	for _, x := range r.runs {
		if x.test == test {
			return true
		}
	}
	for k := range r.na {
		if strings.HasPrefix(k, test+"/") {
			return true
		}
	}
	return false
}

// writeTargets compares pingap (GOMAXPROCS=1) with the project's targets.
func (r *report) writeTargets(p func(string, ...any)) {
	type target struct {
		name     string
		measured string
		status   string
	}
	var ts []target
	check := func(name, test string, value func(summary) float64, format string, ok func(float64) bool) {
		t := target{name: name, measured: "not measured", status: "n/a"}
		if reason, bad := r.na[test+"/pingap"]; bad {
			t.measured = "n/a: " + reason
			t.status = "not yet"
		} else if s, found := r.summarize(test, "pingap"); found && !math.IsNaN(value(s)) {
			v := value(s)
			t.measured = fmt.Sprintf(format, v)
			t.status = "not yet"
			if ok(v) {
				t.status = "met"
			}
		}
		ts = append(ts, t)
	}
	ratioOf := func(s summary) float64 { return s.rpsRatio }
	check("13 B throughput ≥ 0.6× nginx", "h1-13", ratioOf, "%.2f×", func(v float64) bool { return v >= 0.6 })
	check("proxy CPU ≤ 30 µs/request (13 B)", "h1-13", func(s summary) float64 { return s.cpuUS }, "%.1f µs", func(v float64) bool { return v <= 30 })
	check("100 KiB throughput ≥ 1.0× nginx", "h1-100k", ratioOf, "%.2f×", func(v float64) bool { return v >= 1.0 })
	check("HTTP/2 over TLS throughput ≥ 0.6× nginx", "h2-13", ratioOf, "%.2f×", func(v float64) bool { return v >= 0.6 })
	idle := target{name: "idle RSS ≤ 20 MB", measured: "not measured", status: "n/a"}
	if kb, ok := r.idle["pingap"]; ok {
		idle.measured = fmt.Sprintf("%.1f MB", kb/1024)
		idle.status = "not yet"
		if kb/1024 <= 20 {
			idle.status = "met"
		}
	}
	ts = append(ts, idle)

	p("### Targets (pingap, GOMAXPROCS=1, pinned)\n\n| target | measured | status |\n|---|---:|---|\n")
	for _, t := range ts {
		p("| %s | %s | %s |\n", t.name, t.measured, t.status)
	}
	p("\n")
}

func ratio(v float64) string {
	if math.IsNaN(v) {
		return "–"
	}
	return fmt.Sprintf("%.2f", v)
}

// thousands formats a rate as an integer with thin separators: 45,123.
func thousands(v float64) string {
	s := strconv.FormatInt(int64(math.Round(v)), 10)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

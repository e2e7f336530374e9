// Package testprom reads a Prometheus endpoint for tests: scrape it, look
// up a sample, and run the client library's lint over what it serves.
package testprom

import (
	"fmt"
	"io"
	"net/http"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Families are scraped metric families by name.
type Families map[string]*dto.MetricFamily

// Scrape reads and parses the Prometheus text served at url.
func Scrape(c *http.Client, url string) (Families, error) {
	resp, err := c.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		return nil, fmt.Errorf("%s: %d %s", url, resp.StatusCode, b)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	return parser.TextToMetricFamilies(resp.Body)
}

// MustScrape is Scrape with http.DefaultClient that fails the test on an
// error.
func MustScrape(t testing.TB, url string) Families {
	t.Helper()
	f, err := Scrape(http.DefaultClient, url)
	if err != nil {
		t.Fatalf("scraping %s: %v", url, err)
	}
	return f
}

// Value is the counter or gauge value, or the histogram's sample count, of
// family name's first sample whose labels include the given pairs (name,
// value, ...); -1 when there is none.
func (f Families) Value(name string, labels ...string) float64 {
next:
	for _, m := range f[name].GetMetric() {
		have := map[string]string{}
		for _, l := range m.GetLabel() {
			have[l.GetName()] = l.GetValue()
		}
		for i := 0; i+1 < len(labels); i += 2 {
			if have[labels[i]] != labels[i+1] {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.GetCounter().GetValue()
		case m.Gauge != nil:
			return m.GetGauge().GetValue()
		case m.Histogram != nil:
			return float64(m.GetHistogram().GetSampleCount())
		}
	}
	return -1
}

// Lint fails the test for every problem promlint finds in f.
func (f Families) Lint(t testing.TB) {
	t.Helper()
	list := make([]*dto.MetricFamily, 0, len(f))
	for _, fam := range f {
		list = append(list, fam)
	}
	problems, err := promlint.NewWithMetricFamilies(list).Lint()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}
}

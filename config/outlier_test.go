package config

import (
	"strings"
	"testing"
)

// The validator judges outlier_detection with the data plane's defaults: a
// base_ejection_time above the default max_ejection_time is refused here,
// not only when a data plane builds the config.
func TestOutlierDetectionDefaults(t *testing.T) {
	base := "[upstreams.v]\naddrs = [\"127.0.0.1:1\"]\n[upstreams.v.outlier_detection]\n"
	for _, tt := range []struct{ toml, want string }{
		{"base_ejection_time = \"10m\"\n", `upstreams.v.outlier_detection.max_ejection_time (line 3): 5m0s is shorter than base_ejection_time 10m0s`},
		{"max_ejection_time = \"5s\"\n", `upstreams.v.outlier_detection.max_ejection_time (line 4): 5s is shorter than base_ejection_time 10s`},
	} {
		_, err := ValidateBytes([]byte(base+tt.toml), FormatTOML)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: error %v, want %q", tt.toml, err, tt.want)
		}
	}
	c, field, err := ParseOutlierDetection(nil)
	if err != nil || field != "" || c.Failures != DefaultConsecutiveFailures || c.Base != DefaultBaseEjectionTime ||
		c.Max != DefaultMaxEjectionTime || c.MaxPercent != DefaultMaxEjectionPercent {
		t.Fatalf("defaults: %+v %q %v", c, field, err)
	}
}

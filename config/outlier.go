package config

import (
	"fmt"
	"time"

	pb "github.com/pingap-go/pingap/gen/pingap/v1"
)

// DefaultMaxHeaderCount is the most request header fields a server accepts
// when it sets no max_header_count (HTTP/1 is refused by the server itself,
// HTTP/2 by the proxy).
const DefaultMaxHeaderCount = 100

// Defaults of an upstream's outlier_detection fields.
const (
	DefaultConsecutiveFailures = 5
	DefaultBaseEjectionTime    = 10 * time.Second
	DefaultMaxEjectionTime     = 5 * time.Minute
	DefaultMaxEjectionPercent  = 50
)

// OutlierDetection is an upstream's outlier_detection with its defaults
// applied.
type OutlierDetection struct {
	// Failures is how many consecutive failures eject a target.
	Failures int
	// Base and Max are the first and the longest ejection time.
	Base, Max time.Duration
	// MaxPercent caps the share of targets ejected at once.
	MaxPercent int
}

// ParseOutlierDetection applies the defaults to od and checks the result;
// it returns nil when detection is disabled. On error, field is the field
// at fault (within outlier_detection). The validator and the data plane
// both call it, so a config is judged the same by both.
func ParseOutlierDetection(od *pb.OutlierDetection) (c *OutlierDetection, field string, err error) {
	if od.GetDisabled() {
		return nil, "", nil
	}
	c = &OutlierDetection{Failures: int(od.GetConsecutiveFailures()), Base: DefaultBaseEjectionTime,
		Max: DefaultMaxEjectionTime, MaxPercent: int(od.GetMaxEjectionPercent())}
	if c.Failures == 0 {
		c.Failures = DefaultConsecutiveFailures
	}
	for _, f := range []struct {
		name string
		d    time.Duration
		dst  *time.Duration
	}{{"base_ejection_time", od.GetBaseEjectionTime().AsDuration(), &c.Base}, {"max_ejection_time", od.GetMaxEjectionTime().AsDuration(), &c.Max}} {
		switch {
		case f.d < 0:
			return nil, f.name, fmt.Errorf("invalid duration %s: negative", f.d)
		case f.d > 0:
			*f.dst = f.d
		}
	}
	if c.MaxPercent == 0 {
		c.MaxPercent = DefaultMaxEjectionPercent
	}
	if c.MaxPercent > 100 {
		return nil, "max_ejection_percent", fmt.Errorf("%d is over 100", c.MaxPercent)
	}
	if c.Max < c.Base {
		return nil, "max_ejection_time", fmt.Errorf("%s is shorter than base_ejection_time %s", c.Max, c.Base)
	}
	return c, "", nil
}

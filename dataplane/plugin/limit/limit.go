// Package limit is the "limit" plugin: it limits requests per key (the
// client address, a header, a cookie or a query parameter), either with a
// token bucket ("rate") or with a cap on concurrent requests ("inflight").
// A refused request gets 429 with Retry-After; every answer carries the
// IETF draft headers RateLimit-Limit, RateLimit-Remaining and
// RateLimit-Reset.
//
// Counters live in the memory of one data plane, in a table bounded by
// max_keys (least recently used keys are dropped) and idle_timeout; they
// survive reloads that do not change the plugin, since the runtime carries
// the instance over.
package limit

import (
	"fmt"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/pingap-go/pingap/dataplane/plugin"
	pb "github.com/pingap-go/pingap/gen/pingap/v1"
)

// Category is the plugin's category name.
const Category = "limit"

// Defaults of the options.
const (
	DefaultInterval    = time.Second
	DefaultMaxKeys     = 100000
	DefaultIdleTimeout = 10 * time.Minute
	DefaultMessage     = "too many requests"
)

// Response header names, in canonical form.
const (
	headerLimit      = "Ratelimit-Limit"
	headerRemaining  = "Ratelimit-Remaining"
	headerReset      = "Ratelimit-Reset"
	headerRetryAfter = "Retry-After"
)

// Register adds the plugin to r.
func Register(r *plugin.Registry) { r.Register(Category, New) }

// New builds the middleware. The counters belong to the instance: a rate
// limiter's idle-key sweeper is stopped by the config's cleanup.
func New(ctx plugin.BuildContext, _ string, cfg *pb.Plugin) (plugin.Middleware, error) {
	l, err := build(ctx, cfg.GetLimit())
	if err != nil {
		return nil, err
	}
	return l.middleware, nil
}

// limiter is one plugin instance: how to find a request's key, and the
// check that admits or refuses it.
type limiter struct {
	key     keyFunc
	message string
	limited func() // counts a refusal in the metrics
	// limit is RateLimit-Limit's value (max).
	limit string
	// rate or flight is set, by type.
	rate   *rateTable
	flight *flightTable
}

// build checks the options (they are validated already; this guards
// against a config that bypassed validation) and makes the limiter.
func build(ctx plugin.BuildContext, c *pb.LimitPlugin) (*limiter, error) {
	if c.GetMax() == 0 {
		return nil, fmt.Errorf("max: required, > 0")
	}
	key, err := newKeyFunc(ctx, c.GetTag(), c.GetKey())
	if err != nil {
		return nil, err
	}
	maxKeys := int(c.GetMaxKeys())
	if maxKeys <= 0 {
		maxKeys = DefaultMaxKeys
	}
	idle := c.GetIdleTimeout().AsDuration()
	if idle <= 0 {
		idle = DefaultIdleTimeout
	}
	l := &limiter{key: key, message: c.GetMessage(), limit: strconv.FormatUint(uint64(c.GetMax()), 10),
		limited: ctx.Count("limited")}
	if l.message == "" {
		l.message = DefaultMessage
	}
	switch c.GetType() {
	case "", "rate":
		interval := c.GetInterval().AsDuration()
		if interval <= 0 {
			interval = DefaultInterval
		}
		burst := int(c.GetBurst())
		if burst <= 0 {
			burst = int(c.GetMax())
		}
		l.rate = newRateTable(ctx.Clock(), int(c.GetMax()), interval, burst, maxKeys, idle)
		l.rate.start(ctx)
	case "inflight":
		l.flight = newFlightTable(int(c.GetMax()), maxKeys)
	default:
		return nil, fmt.Errorf("type: %q is neither rate nor inflight", c.GetType())
	}
	return l, nil
}

// middleware admits or refuses each request by its key.
func (l *limiter) middleware(next http.Handler) http.Handler {
	if l.flight != nil {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			k := l.key(r)
			e, remaining := l.flight.acquire(k)
			if e == nil {
				l.refuse(w, 0, 1, 1)
				return
			}
			// Released when the request is over, an upgraded one's tunnel
			// included (it ends before ServeHTTP returns), and on a panic.
			defer l.flight.release(k, e)
			reset := 0
			if remaining == 0 {
				reset = 1
			}
			setHeaders(w.Header(), l.limit, remaining, reset)
			next.ServeHTTP(w, r)
		})
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d := l.rate.take(l.key(r))
		if !d.ok {
			l.refuse(w, d.remaining, d.reset, d.retryAfter)
			return
		}
		setHeaders(w.Header(), l.limit, d.remaining, d.reset)
		next.ServeHTTP(w, r)
	})
}

// refuse answers 429 with the configured message.
func (l *limiter) refuse(w http.ResponseWriter, remaining, reset, retryAfter int) {
	h := w.Header()
	setHeaders(h, l.limit, remaining, reset)
	h[headerRetryAfter] = []string{strconv.Itoa(retryAfter)}
	l.limited()
	plugin.Answer(w, http.StatusTooManyRequests, l.message)
}

// setHeaders sets the RateLimit headers, with one allocation for the three
// values. They are set before the rest of the chain runs: the proxy keeps
// them on the upstream's response unless the upstream sends its own.
func setHeaders(h http.Header, limit string, remaining, reset int) {
	vals := [...]string{limit, strconv.Itoa(remaining), strconv.Itoa(reset)}
	s := vals[:]
	h[headerLimit] = s[0:1:1]
	h[headerRemaining] = s[1:2:2]
	h[headerReset] = s[2:3:3]
}

// ceilSeconds rounds d up to whole seconds; a float's last-bit error (a
// wait of 20.000000001s computed for an exact 20s) does not add a second.
func ceilSeconds(d time.Duration) int {
	if d <= 0 {
		return 0
	}
	return int(math.Ceil(d.Seconds() - 1e-6))
}

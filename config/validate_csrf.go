package config

import (
	"strings"
	"time"

	pb "github.com/pingap-go/pingap/gen/pingap/v1"
)

// CSRFMinKeyLen is the shortest csrf key accepted, in bytes.
const CSRFMinKeyLen = 16

// checkCSRFPlugin validates a "csrf" plugin's options. Messages never
// repeat the key.
func checkCSRFPlugin(v *validator, path string, p *pb.Plugin) {
	c := p.GetCsrf()
	switch tp := c.GetTokenPath(); {
	case tp == "":
		v.fail(path+".token_path", "required: the path that issues tokens")
	case !strings.HasPrefix(tp, "/"):
		v.fail(path+".token_path", "invalid path %q: must start with \"/\"", tp)
	}
	switch k := c.GetKey(); {
	case k == "":
		v.fail(path+".key", "required: at least %d bytes", CSRFMinKeyLen)
	case len(k) < CSRFMinKeyLen:
		v.fail(path+".key", "too short: %d bytes, want at least %d", len(k), CSRFMinKeyLen)
	}
	// Cookie names are RFC 9110 tokens too, so one check covers both uses.
	if n := c.GetName(); n != "" && !ValidHeaderName(n) {
		v.fail(path+".name", "%q is not a header and cookie name", n)
	}
	// Zero means the default; a negative one is reported by the walk.
	if d := c.GetTtl().AsDuration(); d > 0 && d < time.Second {
		v.fail(path+".ttl", "%s is less than 1s (the cookie's Max-Age is in seconds)", d)
	}
}

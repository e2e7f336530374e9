package config

import pb "github.com/pingap-go/pingap/gen/pingap/v1"

// checkLimitPlugin validates a "limit" plugin's options.
func checkLimitPlugin(v *validator, path string, p *pb.Plugin) {
	c := p.GetLimit()
	if c.GetMax() == 0 {
		v.fail(path+".max", "required: > 0")
	}
	switch c.GetType() {
	case "", "rate":
	case "inflight":
		if c.GetBurst() != 0 {
			v.fail(path+".burst", "only for type rate (inflight counts concurrent requests)")
		}
	default:
		v.fail(path+".type", "%q is neither rate nor inflight", c.GetType())
	}
	switch tag, key := c.GetTag(), c.GetKey(); tag {
	case "", "ip":
	case "header", "cookie":
		// Cookie names are RFC 9110 tokens too, so one check covers both.
		if key == "" {
			v.fail(path+".key", "required with tag %q: the %s name", tag, tag)
		} else if !ValidHeaderName(key) {
			v.fail(path+".key", "%q is not a %s name", key, tag)
		}
	case "query":
		if key == "" {
			v.fail(path+".key", "required with tag %q: the parameter name", tag)
		}
	default:
		v.fail(path+".tag", "%q is none of ip, header, cookie, query", tag)
	}
}

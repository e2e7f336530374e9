package config

import (
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"strings"

	"google.golang.org/protobuf/reflect/protoreflect"

	pb "github.com/pingap-go/pingap/gen/pingap/v1"
)

// PluginCategories lists the plugin categories the schema knows: the names
// of Plugin's config fields.
func PluginCategories() []string {
	oneof := (&pb.Plugin{}).ProtoReflect().Descriptor().Oneofs().ByName("config")
	out := make([]string, 0, oneof.Fields().Len())
	for i := 0; i < oneof.Fields().Len(); i++ {
		out = append(out, string(oneof.Fields().Get(i).Name()))
	}
	sort.Strings(out)
	return out
}

// The sizes a request_id nanoid may have.
const (
	NanoIDMinSize = 8
	NanoIDMaxSize = 64
)

// pluginChecks validate each category's options; a category without an
// entry has nothing to check beyond the schema's types.
var pluginChecks = map[string]func(v *validator, path string, p *pb.Plugin){
	"ping": func(v *validator, path string, p *pb.Plugin) {
		if s := p.GetPing().GetPath(); s != "" && !strings.HasPrefix(s, "/") {
			v.fail(path+".path", "invalid path %q: must start with \"/\"", s)
		}
	},
	"ip_restriction": func(v *validator, path string, p *pb.Plugin) {
		c := p.GetIpRestriction()
		if len(c.GetIpList()) == 0 {
			v.fail(path+".ip_list", "required: IP addresses or CIDRs")
		}
		for i, s := range c.GetIpList() {
			if _, err := ParseIPPrefix(s); err != nil {
				v.fail(indexPath(path+".ip_list", i), "%v", err)
			}
		}
		v.accessType(path, c.GetType())
	},
	"response_headers": func(v *validator, path string, p *pb.Plugin) {
		c := p.GetResponseHeaders()
		for field, list := range map[string][]string{"add_headers": c.GetAddHeaders(), "set_headers": c.GetSetHeaders(),
			"set_headers_not_exists": c.GetSetHeadersNotExists()} {
			for i, h := range list {
				if _, err := ParseHeader(h); err != nil {
					v.fail(indexPath(path+"."+field, i), "%v", err)
				}
			}
		}
		for i, n := range c.GetRemoveHeaders() {
			if !ValidHeaderName(strings.TrimSpace(n)) {
				v.fail(indexPath(path+".remove_headers", i), "invalid header name %q", n)
			}
		}
		for i, s := range c.GetRenameHeaders() {
			if _, _, err := ParseHeaderRename(s); err != nil {
				v.fail(indexPath(path+".rename_headers", i), "%v", err)
			}
		}
	},
	"ua_restriction": func(v *validator, path string, p *pb.Plugin) {
		c := p.GetUaRestriction()
		if len(c.GetUaList()) == 0 {
			v.fail(path+".ua_list", "required: regular expressions")
		}
		for i, s := range c.GetUaList() {
			if _, err := regexp.Compile(s); err != nil {
				v.fail(indexPath(path+".ua_list", i), "invalid regex %q: %s", s, regexErr(err, s))
			}
		}
		v.accessType(path, c.GetType())
	},
	"referer_restriction": func(v *validator, path string, p *pb.Plugin) {
		c := p.GetRefererRestriction()
		if len(c.GetRefererList()) == 0 {
			v.fail(path+".referer_list", "required: hosts")
		}
		for i, s := range c.GetRefererList() {
			if _, err := ParseHosts(s); err != nil {
				v.fail(indexPath(path+".referer_list", i), "%v", err)
			}
		}
		v.accessType(path, c.GetType())
	},
	"cors": func(v *validator, path string, p *pb.Plugin) {
		if _, _, _, err := ParseCORSOrigins(p.GetCors().GetAllowOrigin()); err != nil {
			v.fail(path+".allow_origin", "%v", err)
		}
	},
	"request_id": func(v *validator, path string, p *pb.Plugin) {
		c := p.GetRequestId()
		if a := c.GetAlgorithm(); a != "" && a != "uuid" && a != "nanoid" {
			v.fail(path+".algorithm", "%q is neither uuid nor nanoid", a)
		}
		if n := c.GetSize(); n != 0 && (n < NanoIDMinSize || n > NanoIDMaxSize) {
			v.fail(path+".size", "%d is outside %d..%d", n, NanoIDMinSize, NanoIDMaxSize)
		}
		if h := c.GetHeaderName(); h != "" && !ValidHeaderName(h) {
			v.fail(path+".header_name", "%q is not a header name", h)
		}
	},
	"key_auth": func(v *validator, path string, p *pb.Plugin) {
		c := p.GetKeyAuth()
		if len(c.GetKeys()) == 0 {
			v.fail(path+".keys", "required: at least one key")
		}
		for i, k := range c.GetKeys() {
			if k == "" {
				v.fail(indexPath(path+".keys", i), "empty key")
			}
		}
		switch c.GetLookup() {
		case "", "header":
			if n := c.GetName(); n != "" && !ValidHeaderName(n) {
				v.fail(path+".name", "%q is not a header name", n)
			}
		case "query":
		default:
			v.fail(path+".lookup", "%q is neither header nor query", c.GetLookup())
		}
	},
	"basic_auth": func(v *validator, path string, p *pb.Plugin) {
		c := p.GetBasicAuth()
		if len(c.GetAuthorizations()) == 0 {
			v.fail(path+".authorizations", "required: at least one credential")
		}
		for i, a := range c.GetAuthorizations() {
			if _, err := ParseBasicCredential(a); err != nil {
				// The value is a secret: the message never repeats it.
				v.fail(indexPath(path+".authorizations", i), "%v", err)
			}
		}
	},
	"forward_auth": func(v *validator, path string, p *pb.Plugin) {
		c := p.GetForwardAuth()
		if u, err := url.Parse(c.GetAddress()); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			v.fail(path+".address", "%q is not an http(s) URL", c.GetAddress())
		}
		for field, list := range map[string][]string{"auth_request_headers": c.GetAuthRequestHeaders(),
			"auth_response_headers": c.GetAuthResponseHeaders()} {
			for i, h := range list {
				if !ValidHeaderName(h) {
					v.fail(indexPath(path+"."+field, i), "%q is not a header name", h)
				}
			}
		}
	},
	"redirect": func(v *validator, path string, p *pb.Plugin) {
		c := p.GetRedirect()
		if st := c.GetStatus(); st != 0 && !RedirectStatus(int(st)) {
			v.fail(path+".status", "%d is not a redirect status (301, 302, 303, 307, 308)", st)
		}
		if s := c.GetPrefix(); s != "" && !strings.HasPrefix(s, "/") {
			v.fail(path+".prefix", "invalid prefix %q: must start with \"/\"", s)
		}
		if h := c.GetHost(); h != "" && strings.ContainsAny(h, "/?# ") {
			v.fail(path+".host", "invalid host %q: want host or host:port", h)
		}
	},
	"mock": func(v *validator, path string, p *pb.Plugin) {
		m := p.GetMock()
		if s := m.GetPath(); s != "" && !strings.HasPrefix(s, "/") {
			v.fail(path+".path", "invalid path %q: must start with \"/\"", s)
		}
		if st := m.GetStatus(); st != 0 && (st < 100 || st > 599) {
			v.fail(path+".status", "status %d is not an HTTP status (100..599)", st)
		}
		for i, h := range m.GetHeaders() {
			if _, err := ParseHeader(h); err != nil {
				v.fail(indexPath(path+".headers", i), "%v", err)
			}
		}
	},
	"jwt":               checkJWTPlugin,
	"combined_auth":     checkCombinedAuthPlugin,
	"csrf":              checkCSRFPlugin,
	"limit":             checkLimitPlugin,
	"cache":             checkCachePlugin,
	"compression":       checkCompressionPlugin,
	"accept_encoding":   checkAcceptEncodingPlugin,
	"sub_filter":        checkSubFilterPlugin,
	"directory":         checkDirectoryPlugin,
	"traffic_splitting": checkTrafficSplittingPlugin,
	"stats":             checkStatsPlugin,
}

// plugin checks one plugin: a known category, options of that category
// only, and the category's own rules.
func (v *validator) plugin(path string, p *pb.Plugin) {
	cat := strings.TrimSpace(p.GetCategory())
	if cat == "" {
		v.fail(path+".category", "required: one of %s", strings.Join(PluginCategories(), ", "))
		return
	}
	m := p.ProtoReflect()
	fd := m.Descriptor().Fields().ByName(protoreflect.Name(cat))
	if fd == nil || fd.ContainingOneof() == nil {
		v.fail(path+".category", "unknown plugin category %q%s (known: %s)", cat,
			suggestName(cat, PluginCategories()), strings.Join(PluginCategories(), ", "))
		return
	}
	if set := m.WhichOneof(fd.ContainingOneof()); set != nil && set.Name() != fd.Name() {
		v.fail(path+"."+string(set.Name()), "options of a %q plugin on a %q plugin", set.Name(), cat)
		return
	}
	if check := pluginChecks[cat]; check != nil {
		check(v, path, p)
	}
}

// RedirectStatus reports whether code is a status the redirect plugin may
// answer with.
func RedirectStatus(code int) bool {
	switch code {
	case 301, 302, 303, 307, 308:
		return true
	}
	return false
}

// accessType checks an access-control plugin's type.
func (v *validator) accessType(path, t string) {
	if _, err := ParseAccessType(t, "allow"); err != nil {
		v.fail(path+".type", "%v", err)
	}
}

// ParseAccessType parses an access list's type, "allow" or "deny" (empty
// is def), for the restriction plugins and their validation.
func ParseAccessType(t, def string) (deny bool, err error) {
	if t == "" {
		t = def
	}
	switch t {
	case "allow":
		return false, nil
	case "deny":
		return true, nil
	}
	return false, fmt.Errorf("%q is neither allow nor deny", t)
}

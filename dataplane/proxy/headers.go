package proxy

import (
	"net"
	"net/http"
	"net/textproto"
	"strings"

	"github.com/pingap-go/pingap/config"
	"github.com/pingap-go/pingap/dataplane/router"
)

// hopHeaders are the hop-by-hop headers of RFC 9110 section 7.6.1 (plus the
// de facto Proxy-Connection); they describe one connection and are never
// forwarded.
var hopHeaders = [...]string{
	"Connection",
	"Proxy-Connection",
	"Keep-Alive",
	"Proxy-Authenticate",
	"Proxy-Authorization",
	"Te",
	"Trailer",
	"Transfer-Encoding",
	"Upgrade",
}

// RemoveHopHeaders deletes hop-by-hop headers, including those named in
// Connection, from h.
func RemoveHopHeaders(h http.Header) {
	for _, v := range h["Connection"] {
		for name := range strings.SplitSeq(v, ",") {
			if name = textproto.TrimString(name); name != "" {
				h.Del(name)
			}
		}
	}
	for _, name := range hopHeaders {
		delete(h, name)
	}
}

// varKind is a header-value variable.
type varKind int

const (
	varLiteral varKind = iota
	varHost
	varScheme
	varRemoteAddr
	varRemotePort
	varServerAddr
	varServerPort
	varProxyAddXFF
	varHTTPHeader
)

var varNames = map[string]varKind{
	"host":                      varHost,
	"scheme":                    varScheme,
	"remote_addr":               varRemoteAddr,
	"remote_port":               varRemotePort,
	"server_addr":               varServerAddr,
	"server_port":               varServerPort,
	"proxy_add_x_forwarded_for": varProxyAddXFF,
}

type templatePart struct {
	kind varKind
	text string // literal text, or the header name for varHTTPHeader
}

// template is a header value with variables, split at build time.
type template struct {
	parts []templatePart
	plain bool // no variables: parts[0].text is the whole value
}

// compileTemplate splits s into literals and variables. Unknown variables
// stay literal text, as nginx leaves them.
func compileTemplate(s string) template {
	var t template
	lit := strings.Builder{}
	flush := func() {
		if lit.Len() > 0 {
			t.parts = append(t.parts, templatePart{kind: varLiteral, text: lit.String()})
			lit.Reset()
		}
	}
	for i := 0; i < len(s); {
		if s[i] != '$' {
			lit.WriteByte(s[i])
			i++
			continue
		}
		j := i + 1
		for j < len(s) && isVarChar(s[j]) {
			j++
		}
		name := s[i+1 : j]
		if k, ok := varNames[name]; ok {
			flush()
			t.parts = append(t.parts, templatePart{kind: k})
		} else if h, ok := strings.CutPrefix(name, "http_"); ok && h != "" {
			flush()
			t.parts = append(t.parts, templatePart{kind: varHTTPHeader,
				text: http.CanonicalHeaderKey(strings.ReplaceAll(h, "_", "-"))})
		} else {
			lit.WriteString(s[i:j])
		}
		i = j
	}
	flush()
	if len(t.parts) == 0 {
		t.parts = []templatePart{{kind: varLiteral}}
	}
	t.plain = len(t.parts) == 1 && t.parts[0].kind == varLiteral
	return t
}

func isVarChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_'
}

// expand renders the template for one request.
func (t *template) expand(rc *requestInfo) string {
	if t.plain {
		return t.parts[0].text
	}
	var b strings.Builder
	for _, p := range t.parts {
		switch p.kind {
		case varLiteral:
			b.WriteString(p.text)
		case varHost:
			b.WriteString(router.NormalizeHost(rc.req.Host))
		case varScheme:
			b.WriteString(rc.scheme)
		case varRemoteAddr:
			b.WriteString(rc.remoteAddr)
		case varRemotePort:
			_, port, _ := net.SplitHostPort(rc.req.RemoteAddr)
			b.WriteString(port)
		case varServerAddr:
			host, _ := localAddr(rc.req)
			b.WriteString(host)
		case varServerPort:
			_, port := localAddr(rc.req)
			b.WriteString(port)
		case varProxyAddXFF:
			b.WriteString(rc.xff)
		case varHTTPHeader:
			b.WriteString(strings.Join(rc.req.Header[p.text], ", "))
		}
	}
	return b.String()
}

// localAddr is the host and port of the address r came in on, empty when
// the server did not record it.
func localAddr(r *http.Request) (host, port string) {
	if la, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
		host, port, _ = net.SplitHostPort(la.String())
	}
	return host, port
}

// headerRule is a compiled proxy_set_headers / proxy_add_headers entry.
type headerRule struct {
	name  string
	value template
}

func compileHeaderRules(field string, list []string) ([]headerRule, error) {
	rules := make([]headerRule, 0, len(list))
	for _, s := range list {
		h, err := config.ParseHeader(s)
		if err != nil {
			return nil, fieldErr(field, err)
		}
		rules = append(rules, headerRule{name: h.Name, value: compileTemplate(h.Value)})
	}
	return rules, nil
}

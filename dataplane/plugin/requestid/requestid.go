// Package requestid is the "request_id" plugin: every request gets an id
// (UUIDv7 or nanoid) in one header, sent upstream and back to the client;
// a valid incoming id is kept.
package requestid

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"time"

	"github.com/pingap-go/pingap/config"
	"github.com/pingap-go/pingap/dataplane/observe"
	"github.com/pingap-go/pingap/dataplane/plugin"
	pb "github.com/pingap-go/pingap/gen/pingap/v1"
)

// Category is the plugin's category name.
const Category = "request_id"

// Defaults of the options.
const (
	DefaultHeader     = "X-Request-Id"
	DefaultNanoidSize = 21
	maxIncoming       = 128
)

// Register adds the plugin to r.
func Register(r *plugin.Registry) { r.Register(Category, New) }

// New builds the middleware.
func New(ctx plugin.BuildContext, _ string, cfg *pb.Plugin) (plugin.Middleware, error) {
	c := cfg.GetRequestId()
	header := c.GetHeaderName()
	if header == "" {
		header = DefaultHeader
	}
	if !config.ValidHeaderName(header) {
		return nil, fmt.Errorf("header_name: %q is not a header name", header)
	}
	header = http.CanonicalHeaderKey(header)
	var gen func() string
	switch c.GetAlgorithm() {
	case "", "uuid":
		now := ctx.Clock()
		gen = func() string { return UUIDv7(now()) }
	case "nanoid":
		size := int(c.GetSize())
		if size == 0 {
			size = DefaultNanoidSize
		}
		if size < config.NanoIDMinSize || size > config.NanoIDMaxSize {
			return nil, fmt.Errorf("size: %d is outside %d..%d", size, config.NanoIDMinSize, config.NanoIDMaxSize)
		}
		gen = func() string { return Nanoid(size) }
	default:
		return nil, fmt.Errorf("algorithm: %q is neither uuid nor nanoid", c.GetAlgorithm())
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			id := r.Header.Get(header)
			if !validID(id) {
				id = gen()
				r.Header[header] = []string{id}
			}
			w.Header()[header] = []string{id}
			if rec := observe.From(w); rec != nil {
				rec.RequestID = id // for the access log
			}
			next.ServeHTTP(w, r)
		})
	}, nil
}

// validID reports whether an incoming id can be kept.
func validID(id string) bool {
	if id == "" || len(id) > maxIncoming {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == ':') {
			return false
		}
	}
	return true
}

// UUIDv7 returns a version 7 UUID (RFC 9562): 48 bits of Unix milliseconds,
// then random bits, so ids sort by time.
func UUIDv7(now time.Time) string {
	var b [16]byte
	_, _ = rand.Read(b[6:])
	ms := uint64(now.UnixMilli())
	for i := 0; i < 6; i++ {
		b[i] = byte(ms >> (40 - 8*i))
	}
	b[6] = b[6]&0x0f | 0x70 // version 7
	b[8] = b[8]&0x3f | 0x80 // variant 10
	var s [36]byte
	hex.Encode(s[0:8], b[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], b[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], b[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], b[8:10])
	s[23] = '-'
	hex.Encode(s[24:], b[10:])
	return string(s[:])
}

// nanoidAlphabet is nanoid's URL-safe alphabet (64 symbols).
const nanoidAlphabet = "useandom-26T198340PX75pxJACKVERYMINDBUSHWOLF_GQZbfghjklqvwyzrict"

// Nanoid returns a random URL-safe id of size characters.
func Nanoid(size int) string {
	b := make([]byte, size)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = nanoidAlphabet[b[i]&63]
	}
	return string(b)
}

// Package compression is the "compression" plugin: it compresses responses
// with zstd, brotli or gzip, the coding chosen by the client's
// Accept-Encoding q-values (ties go to zstd, then br, then gzip), while they
// stream. It can also decode gzip, br or zstd bodies from upstream for
// clients that do not accept that coding.
//
// A response is compressed only when it has no Content-Encoding yet, its
// status is not 1xx, 204, 206 or 304, it has no "Cache-Control:
// no-transform", the request carries no Range, its Content-Type is on the
// list and its Content-Length is unknown or at least min_length. Such a
// response loses Content-Length and Accept-Ranges, and a strong ETag
// becomes weak. Every response whose type is on the list gets "Vary:
// Accept-Encoding". WebSocket upgrades and gRPC calls pass untouched.
package compression

import (
	"log/slog"
	"net/http"

	"github.com/pingap-go/pingap/config"
	"github.com/pingap-go/pingap/dataplane/plugin"
	"github.com/pingap-go/pingap/dataplane/plugin/internal/transform"
	pb "github.com/pingap-go/pingap/gen/pingap/v1"
)

// Category is the plugin's category name.
const Category = "compression"

// DefaultMinLength is the smallest body compressed when min_length is 0.
const DefaultMinLength = 1024

// DefaultContentTypes returns the types compressed when content_types is
// empty: prefixes, and "+json"/"+xml" suffixes.
func DefaultContentTypes() []string {
	return []string{
		"text/", "application/json", "application/javascript", "application/xml",
		"application/wasm", "image/svg+xml", "+json", "+xml",
	}
}

// Register adds the plugin to r.
func Register(r *plugin.Registry) { r.Register(Category, New) }

// compressor is the compiled plugin: its codecs and rules.
type compressor struct {
	// codecs are the enabled codings in tie order (zstd, br, gzip).
	codecs []*codec
	// offers are the codecs' names, for negotiation.
	offers     []string
	minLength  int64
	types      config.MediaTypes
	decompress bool
	logger     *slog.Logger
}

// New compiles the plugin's options and builds its encoder pools.
func New(ctx plugin.BuildContext, _ string, cfg *pb.Plugin) (plugin.Middleware, error) {
	c := cfg.GetCompression()
	if c == nil { // a plugin with only its category: every default
		c = &pb.CompressionPlugin{}
	}
	comp := &compressor{decompress: c.GetDecompression(), logger: ctx.Log(), minLength: DefaultMinLength}
	if n := c.GetMinLength(); n > 0 {
		comp.minLength = int64(min(n, 1<<62))
	}
	for _, l := range []struct {
		name  string
		level *uint32
		def   int
	}{
		{Zstd, c.ZstdLevel, DefaultZstdLevel},
		{Brotli, c.BrLevel, DefaultBrotliLevel},
		{Gzip, c.GzipLevel, DefaultGzipLevel},
	} {
		level := l.def
		if l.level != nil {
			level = int(*l.level)
		}
		if level == 0 {
			continue
		}
		cd, err := newCodec(l.name, level)
		if err != nil {
			return nil, err
		}
		comp.codecs = append(comp.codecs, cd)
		comp.offers = append(comp.offers, l.name)
	}
	types := c.GetContentTypes()
	if len(types) == 0 {
		types = DefaultContentTypes()
	}
	var err error
	if comp.types, err = config.ParseMediaTypes(types); err != nil {
		return nil, err
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { comp.serve(next, w, r) })
	}, nil
}

// codec returns the enabled codec called name, nil if there is none.
func (c *compressor) codec(name string) *codec {
	for _, cd := range c.codecs {
		if cd.name == name {
			return cd
		}
	}
	return nil
}

func (c *compressor) serve(next http.Handler, w http.ResponseWriter, r *http.Request) {
	if transform.Passes(r) {
		next.ServeHTTP(w, r)
		return
	}
	cw := &responseWriter{
		rw: w, c: c,
		// Kept now: a later plugin may rewrite the request's header.
		accept: r.Header["Accept-Encoding"],
		head:   r.Method == http.MethodHead,
		ranged: r.Header.Get("Range") != "",
	}
	finished := false
	defer func() {
		if !finished { // the handler panicked (http.ErrAbortHandler on a broken upstream)
			cw.abort()
		}
	}()
	next.ServeHTTP(cw, r)
	finished = true
	cw.finish()
}

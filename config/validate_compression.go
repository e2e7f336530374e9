package config

import (
	"fmt"
	"strings"

	pb "github.com/pingap-go/pingap/gen/pingap/v1"
)

// Compression levels the compression plugin accepts; 0 disables a coding.
const (
	MaxGzipLevel   = 9
	MaxBrotliLevel = 11
	MaxZstdLevel   = 4
)

// checkCompressionPlugin validates a "compression" plugin's options.
func checkCompressionPlugin(v *validator, path string, p *pb.Plugin) {
	c := p.GetCompression()
	if c == nil {
		c = &pb.CompressionPlugin{}
	}
	levels := []struct {
		field string
		level *uint32
		max   uint32
		name  string
	}{
		{"gzip_level", c.GzipLevel, MaxGzipLevel, "gzip"},
		{"br_level", c.BrLevel, MaxBrotliLevel, "brotli"},
		{"zstd_level", c.ZstdLevel, MaxZstdLevel, "zstd"},
	}
	disabled := 0
	for _, l := range levels {
		if l.level == nil {
			continue
		}
		if *l.level > l.max {
			v.fail(path+"."+l.field, "%d is outside 0..%d (0 disables %s)", *l.level, l.max, l.name)
		}
		if *l.level == 0 {
			disabled++
		}
	}
	if disabled == len(levels) && !c.GetDecompression() {
		v.fail(path, "gzip_level, br_level and zstd_level are all 0 and decompression is off: the plugin would do nothing")
	}
	checkMediaTypes(v, path+".content_types", c.GetContentTypes())
}

// checkMediaTypes reports each content_types entry ParseMediaTypes refuses.
func checkMediaTypes(v *validator, path string, list []string) {
	for i, s := range list {
		if _, err := ParseMediaTypes([]string{s}); err != nil {
			v.fail(indexPath(path, i), "%v", err)
		}
	}
}

// MediaTypes matches a response's Content-Type against a content_types
// list: an entry is a prefix of the media type ("text/" matches every text
// type, "application/json" matches itself), or, when it starts with "+", a
// structured-syntax suffix ("+json" matches "application/ld+json").
// Matching ignores case and parameters ("; charset=utf-8").
type MediaTypes struct {
	prefixes []string
	suffixes []string
}

// ParseMediaTypes compiles a content_types list. An entry is a media type
// or a prefix of one ("text/", "application/json"), or a suffix starting
// with "+"; it is made of token characters and at most one "/".
func ParseMediaTypes(list []string) (MediaTypes, error) {
	var m MediaTypes
	for _, s := range list {
		t := strings.ToLower(strings.TrimSpace(s))
		if err := checkMediaType(t); err != nil {
			return MediaTypes{}, fmt.Errorf("invalid content type %q: %w", s, err)
		}
		if strings.HasPrefix(t, "+") {
			m.suffixes = append(m.suffixes, t)
		} else {
			m.prefixes = append(m.prefixes, t)
		}
	}
	return m, nil
}

func checkMediaType(t string) error {
	if t == "" {
		return fmt.Errorf("empty")
	}
	if strings.HasPrefix(t, "+") && strings.Contains(t, "/") {
		return fmt.Errorf("a suffix (\"+json\") has no \"/\"")
	}
	if strings.Count(t, "/") > 1 || strings.HasPrefix(t, "/") {
		return fmt.Errorf("want a type/subtype prefix such as \"text/\" or \"application/json\"")
	}
	for i := 0; i < len(t); i++ {
		if t[i] != '/' && !IsTokenChar(t[i]) {
			return fmt.Errorf("%q is not allowed (no parameters: the charset is ignored when matching)", t[i])
		}
	}
	return nil
}

// Match reports whether contentType (a Content-Type header value) is on
// the list. An empty contentType never matches. It does not allocate.
func (m MediaTypes) Match(contentType string) bool {
	mt, _, _ := strings.Cut(contentType, ";")
	mt = strings.TrimSpace(mt)
	if mt == "" {
		return false
	}
	for _, p := range m.prefixes {
		if len(mt) >= len(p) && strings.EqualFold(mt[:len(p)], p) {
			return true
		}
	}
	for _, s := range m.suffixes {
		if len(mt) > len(s) && strings.EqualFold(mt[len(mt)-len(s):], s) {
			return true
		}
	}
	return false
}

// IsGRPCContentType reports whether a Content-Type is gRPC's
// ("application/grpc", "+proto" and the like, parameters allowed; any
// case), which the proxy answers with gRPC statuses and which bodies are
// never rewritten in.
func IsGRPCContentType(ct string) bool {
	const grpc = "application/grpc"
	return len(ct) >= len(grpc) && strings.EqualFold(ct[:len(grpc)], grpc) &&
		(len(ct) == len(grpc) || ct[len(grpc)] == '+' || ct[len(grpc)] == ';')
}

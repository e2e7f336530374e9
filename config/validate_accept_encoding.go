package config

import (
	"fmt"
	"strings"

	pb "github.com/pingap-go/pingap/gen/pingap/v1"
)

// checkAcceptEncodingPlugin validates a "accept_encoding" plugin's options.
func checkAcceptEncodingPlugin(v *validator, path string, p *pb.Plugin) {
	if _, err := ParseEncodings(p.GetAcceptEncoding().GetEncodings()); err != nil {
		v.fail(path+".encodings", "%v", err)
	}
}

// ParseEncodings parses an accept_encoding plugin's encodings: coding
// names separated by commas ("zstd, br, gzip"), in order of preference,
// returned in lower case. Names are RFC 9110 tokens; q-values, "*" and
// repeated names are refused.
func ParseEncodings(s string) ([]string, error) {
	if strings.TrimSpace(s) == "" {
		return nil, fmt.Errorf("required: content codings such as \"zstd, br, gzip\"")
	}
	var out []string
	for item := range strings.SplitSeq(s, ",") {
		name := strings.ToLower(strings.TrimSpace(item))
		switch {
		case name == "":
			return nil, fmt.Errorf("empty coding in %q", s)
		case name == "*":
			return nil, fmt.Errorf("\"*\" is not a coding: list the codings to keep")
		case strings.Contains(name, ";"):
			return nil, fmt.Errorf("%q: list codings without parameters or q-values (the order is the preference)", strings.TrimSpace(item))
		case !ValidHeaderName(name):
			return nil, fmt.Errorf("%q is not a coding name", strings.TrimSpace(item))
		}
		for _, prev := range out {
			if prev == name {
				return nil, fmt.Errorf("%q is listed twice", name)
			}
		}
		out = append(out, name)
	}
	return out, nil
}

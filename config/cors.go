package config

import (
	"fmt"
	"strings"
)

// CORSOrigin is one entry of a cors plugin's allow_origin.
type CORSOrigin struct {
	// Scheme is "http" or "https", or "" for any scheme.
	Scheme string
	// Host is the exact lower-case host[:port], or the suffix
	// ".example.com" of a wildcard.
	Host string
	// Wildcard marks "*.example.com" entries.
	Wildcard bool
}

// ParseCORSOrigins parses a cors allow_origin: a comma list of exact
// origins, "*.suffix" wildcards (with or without a scheme), "*" (any) and
// "$http_origin" (any, echoed).
func ParseCORSOrigins(s string) (anyOrigin, echo bool, list []CORSOrigin, err error) {
	for _, o := range strings.Split(s, ",") {
		o = strings.TrimSpace(o)
		switch o {
		case "":
			continue
		case "*":
			anyOrigin = true
		case "$http_origin":
			echo = true
		default:
			var og CORSOrigin
			rest := o
			if sch, after, ok := strings.Cut(o, "://"); ok {
				if sch != "http" && sch != "https" {
					return false, false, nil, fmt.Errorf("origin %q: scheme must be http or https", o)
				}
				og.Scheme, rest = sch, after
			}
			if strings.ContainsAny(rest, "/?# ") || rest == "" {
				return false, false, nil, fmt.Errorf("origin %q: want scheme://host[:port]", o)
			}
			if suffix, ok := strings.CutPrefix(rest, "*."); ok {
				og.Wildcard, og.Host = true, "."+strings.ToLower(suffix)
			} else if strings.Contains(rest, "*") {
				return false, false, nil, fmt.Errorf("origin %q: a wildcard must be a leading \"*.\"", o)
			} else {
				og.Host = strings.ToLower(rest)
			}
			list = append(list, og)
		}
	}
	if !anyOrigin && !echo && len(list) == 0 {
		return false, false, nil, fmt.Errorf("no origin")
	}
	return anyOrigin, echo, list, nil
}

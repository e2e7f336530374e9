package config

import (
	"fmt"
	"regexp"
	"strings"

	pb "github.com/pingap-go/pingap/gen/pingap/v1"
)

// checkSubFilterPlugin validates a "sub_filter" plugin's options.
func checkSubFilterPlugin(v *validator, path string, p *pb.Plugin) {
	c := p.GetSubFilter()
	if s := c.GetPath(); s != "" {
		if _, err := regexp.Compile(s); err != nil {
			v.fail(path+".path", "invalid regex %q: %s", s, regexErr(err, s))
		}
	}
	if len(c.GetFilters()) == 0 {
		v.fail(path+".filters", "required: rules such as \"subs_filter 'http://' 'https://' g\"")
	}
	for i, s := range c.GetFilters() {
		if _, err := ParseSubFilter(s); err != nil {
			v.fail(indexPath(path+".filters", i), "%v", err)
		}
	}
	checkMediaTypes(v, path+".content_types", c.GetContentTypes())
}

// SubFilterRule is one parsed sub_filter rule.
type SubFilterRule struct {
	// From is the text (or, with Regex, the regular expression) replaced.
	From string
	// To replaces each match; with Regex, "$1" and "${name}" expand to
	// the match's groups.
	To string
	// Global replaces every match (flag "g"); otherwise only the first
	// of a response.
	Global bool
	// IgnoreCase matches regardless of case (flag "i").
	IgnoreCase bool
	// Regex makes From a regular expression (flag "r").
	Regex bool
	// Pattern is From compiled, for regex and case-insensitive rules ("(?i)"
	// added); nil for a case-sensitive literal rule.
	Pattern *regexp.Regexp
}

// ParseSubFilter parses a rule in Pingap's syntax:
//
//	subs_filter 'FROM' 'TO' FLAGS
//
// "sub_filter" is accepted for "subs_filter". FROM and TO are quoted with
// single or double quotes and contain no quote of their own kind (there is
// no escape: quote a single quote with double quotes). FLAGS is any of "g"
// (every match, not only the first), "i" (ignore case) and "r" (FROM is a
// regular expression, which must not match the empty string).
func ParseSubFilter(s string) (SubFilterRule, error) {
	t := strings.TrimSpace(s)
	i := strings.IndexAny(t, " \t")
	if i < 0 || t[:i] != "subs_filter" && t[:i] != "sub_filter" {
		return SubFilterRule{}, fmt.Errorf("invalid rule %q: want \"subs_filter 'FROM' 'TO' FLAGS\"", s)
	}
	rest := t[i:]
	var r SubFilterRule
	var err error
	if r.From, rest, err = quoted(rest); err != nil {
		return SubFilterRule{}, fmt.Errorf("invalid rule %q: FROM %w", s, err)
	}
	if r.To, rest, err = quoted(rest); err != nil {
		return SubFilterRule{}, fmt.Errorf("invalid rule %q: TO %w", s, err)
	}
	for _, f := range strings.TrimSpace(rest) {
		switch f {
		case 'g':
			r.Global = true
		case 'i':
			r.IgnoreCase = true
		case 'r':
			r.Regex = true
		case ' ', '\t':
		default:
			return SubFilterRule{}, fmt.Errorf("invalid rule %q: unknown flag %q (flags: g, i, r)", s, f)
		}
	}
	if r.From == "" {
		return SubFilterRule{}, fmt.Errorf("invalid rule %q: FROM is empty", s)
	}
	if !r.Regex && !r.IgnoreCase {
		return r, nil
	}
	expr := r.From
	if !r.Regex {
		expr = regexp.QuoteMeta(expr)
	}
	if r.IgnoreCase {
		expr = "(?i)" + expr
	}
	re, err := regexp.Compile(expr)
	if err != nil {
		return SubFilterRule{}, fmt.Errorf("invalid rule %q: invalid regex %q: %s", s, r.From, regexErr(err, expr))
	}
	if re.MatchString("") {
		return SubFilterRule{}, fmt.Errorf("invalid rule %q: regex %q matches the empty string", s, r.From)
	}
	r.Pattern = re
	return r, nil
}

// quoted reads a single- or double-quoted string at the start of s (after
// blanks) and returns it and the rest.
func quoted(s string) (string, string, error) {
	s = strings.TrimLeft(s, " \t")
	if s == "" || (s[0] != '\'' && s[0] != '"') {
		return "", "", fmt.Errorf("is not quoted with ' or \"")
	}
	end := strings.IndexByte(s[1:], s[0])
	if end < 0 {
		return "", "", fmt.Errorf("has no closing %c", s[0])
	}
	return s[1 : 1+end], s[end+2:], nil
}

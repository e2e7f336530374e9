package config

import (
	"errors"
	"fmt"
	"strings"
	"time"

	pb "github.com/pingap-go/pingap/gen/pingap/v1"
)

// CheckIndexName checks a directory plugin's index file name: one plain
// file name, with no separator, no NUL and not "." or "..".
func CheckIndexName(s string) error {
	switch {
	case s == "":
		return errors.New("empty file name")
	case s == "." || s == "..":
		return fmt.Errorf("%q is not a file name", s)
	case strings.ContainsAny(s, "/\\\x00"):
		return fmt.Errorf("%q is not a plain file name (no slash, backslash or NUL)", s)
	}
	return nil
}

// checkDirectoryPlugin validates a "directory" plugin's options. It does
// not look at the file system: a config may be validated away from the data
// planes (by the control plane), which check the directory when they build
// the plugin.
func checkDirectoryPlugin(v *validator, path string, p *pb.Plugin) {
	c := p.GetDirectory()
	switch d := c.GetPath(); {
	case d == "":
		v.fail(path+".path", "required: the directory served")
	case strings.ContainsRune(d, 0):
		v.fail(path+".path", "invalid path %q: holds a NUL byte", d)
	}
	for i, s := range c.GetIndex() {
		if err := CheckIndexName(s); err != nil {
			v.fail(indexPath(path+".index", i), "%v", err)
		}
	}
	// A charset name is a token (RFC 2978), so one check covers it.
	if cs := c.GetCharset(); cs != "" && !ValidHeaderName(cs) {
		v.fail(path+".charset", "%q is not a charset name", cs)
	}
	// Zero is allowed (max-age=0); a negative one is reported by the walk.
	if d := c.GetMaxAge().AsDuration(); d > 0 && d < time.Second {
		v.fail(path+".max_age", "%s is less than 1s (max-age is in seconds)", d)
	}
	for i, h := range c.GetHeaders() {
		if _, err := ParseHeader(h); err != nil {
			v.fail(indexPath(path+".headers", i), "%v", err)
		}
	}
}

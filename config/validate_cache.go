package config

import (
	"regexp"
	"strings"

	pb "github.com/pingap-go/pingap/gen/pingap/v1"
)

// checkCachePlugin validates a "cache" plugin's options: key headers,
// the skip regex, the PURGE addresses, and a max_file_size that fits in
// max_size when both are given (a left-out max_file_size is capped at
// max_size by the plugin).
func checkCachePlugin(v *validator, path string, p *pb.Plugin) {
	c := p.GetCache()
	if size, file := c.GetMaxSize(), c.GetMaxFileSize(); size > 0 && file > size {
		v.fail(path+".max_file_size", "%d bytes is larger than max_size (%d bytes)", file, size)
	}
	for i, h := range c.GetHeaders() {
		if !ValidHeaderName(strings.TrimSpace(h)) {
			v.fail(indexPath(path+".headers", i), "invalid header name %q", h)
		}
	}
	if s := c.GetSkip(); s != "" {
		if _, err := regexp.Compile(s); err != nil {
			v.fail(path+".skip", "invalid regex %q: %s", s, regexErr(err, s))
		}
	}
	for i, s := range c.GetPurgeIpList() {
		if _, err := ParseIPPrefix(s); err != nil {
			v.fail(indexPath(path+".purge_ip_list", i), "%v", err)
		}
	}
}

package config

import (
	"strings"

	pb "github.com/pingap-go/pingap/gen/pingap/v1"
)

// checkStatsPlugin validates a "stats" plugin's options.
func checkStatsPlugin(v *validator, path string, p *pb.Plugin) {
	switch s := p.GetStats().GetPath(); {
	case s == "":
		v.fail(path+".path", "required: the path answered with the statistics")
	case !strings.HasPrefix(s, "/"):
		v.fail(path+".path", "invalid path %q: must start with \"/\"", s)
	}
}

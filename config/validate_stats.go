package config

import pb "github.com/pingap-go/pingap/gen/pingap/v1"

// checkStatsPlugin validates a "stats" plugin's options.
func checkStatsPlugin(v *validator, path string, p *pb.Plugin) {
	_, _, _ = v, path, p
}

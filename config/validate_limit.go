package config

import pb "github.com/pingap-go/pingap/gen/pingap/v1"

// checkLimitPlugin validates a "limit" plugin's options.
func checkLimitPlugin(v *validator, path string, p *pb.Plugin) {
	_, _, _ = v, path, p
}

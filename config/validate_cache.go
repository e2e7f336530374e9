package config

import pb "github.com/pingap-go/pingap/gen/pingap/v1"

// checkCachePlugin validates a "cache" plugin's options.
func checkCachePlugin(v *validator, path string, p *pb.Plugin) {
	_, _, _ = v, path, p
}

package config

import pb "github.com/pingap-go/pingap/gen/pingap/v1"

// checkCombinedAuthPlugin validates a "combined_auth" plugin's options.
func checkCombinedAuthPlugin(v *validator, path string, p *pb.Plugin) {
	_, _, _ = v, path, p
}

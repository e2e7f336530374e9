package config

import pb "github.com/pingap-go/pingap/gen/pingap/v1"

// checkJWTPlugin validates a "jwt" plugin's options.
func checkJWTPlugin(v *validator, path string, p *pb.Plugin) {
	_, _, _ = v, path, p
}

package config

import pb "github.com/pingap-go/pingap/gen/pingap/v1"

// checkCompressionPlugin validates a "compression" plugin's options.
func checkCompressionPlugin(v *validator, path string, p *pb.Plugin) {
	_, _, _ = v, path, p
}

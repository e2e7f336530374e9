package config

import pb "github.com/pingap-go/pingap/gen/pingap/v1"

// checkSubFilterPlugin validates a "sub_filter" plugin's options.
func checkSubFilterPlugin(v *validator, path string, p *pb.Plugin) {
	_, _, _ = v, path, p
}

package config

import pb "github.com/pingap-go/pingap/gen/pingap/v1"

// checkTrafficSplittingPlugin validates a "traffic_splitting" plugin's options.
func checkTrafficSplittingPlugin(v *validator, path string, p *pb.Plugin) {
	_, _, _ = v, path, p
}

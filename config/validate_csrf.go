package config

import pb "github.com/pingap-go/pingap/gen/pingap/v1"

// checkCSRFPlugin validates a "csrf" plugin's options.
func checkCSRFPlugin(v *validator, path string, p *pb.Plugin) {
	_, _, _ = v, path, p
}

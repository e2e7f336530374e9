package config

import pb "github.com/pingap-go/pingap/gen/pingap/v1"

// checkAcceptEncodingPlugin validates a "accept_encoding" plugin's options.
func checkAcceptEncodingPlugin(v *validator, path string, p *pb.Plugin) {
	_, _, _ = v, path, p
}

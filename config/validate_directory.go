package config

import pb "github.com/pingap-go/pingap/gen/pingap/v1"

// checkDirectoryPlugin validates a "directory" plugin's options.
func checkDirectoryPlugin(v *validator, path string, p *pb.Plugin) {
	_, _, _ = v, path, p
}

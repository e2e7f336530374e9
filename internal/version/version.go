// Package version holds the build's version, set by the linker.
package version

// Version is the release version, set with -ldflags "-X ...Version=v1.2.3".
// It is a var only because the linker can set nothing else; treat it as
// read-only.
var Version = "dev"

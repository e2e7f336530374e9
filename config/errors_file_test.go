package config

import (
	"strings"
	"testing"
)

func TestErrorsNameTheirFile(t *testing.T) {
	t.Parallel()
	snap, src, err := Decode([]byte("[upstreams.api]\naddrs = []\n"), FormatTOML)
	if err != nil {
		t.Fatal(err)
	}
	src.SetFile("upstreams.api", "conf.d/api.toml")
	err = Validate(snap, src)
	if err == nil || !strings.Contains(err.Error(), "conf.d/api.toml: upstreams.api.addrs (line 2): required") {
		t.Fatalf("error %v, want it to name conf.d/api.toml", err)
	}
}

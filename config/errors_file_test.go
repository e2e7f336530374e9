package config

import (
	"fmt"
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

func TestAnnotate(t *testing.T) {
	t.Parallel()
	_, src, err := Decode([]byte("[servers.web]\naddr = \":80\"\n"), FormatTOML)
	if err != nil {
		t.Fatal(err)
	}
	src.SetFile("servers.web", "web.toml")
	const want = "web.toml: servers.web.addr (line 2): address already in use"
	single := &FieldError{Path: "servers.web.addr", Msg: "address already in use"}
	if got := src.Annotate(single).Error(); got != want {
		t.Errorf("Annotate(*FieldError) = %q, want %q", got, want)
	}
	list := ErrorList{{Path: "servers.web.addr", Msg: "address already in use"}}
	if got := src.Annotate(list).Error(); got != want {
		t.Errorf("Annotate(ErrorList) = %q, want %q", got, want)
	}
	// A wrapper's text is fixed when it is made, but the error it wraps is
	// filled in.
	inner := &FieldError{Path: "servers.web.addr", Msg: "address already in use"}
	_ = src.Annotate(fmt.Errorf("apply: %w", inner))
	if got := inner.Error(); got != want {
		t.Errorf("Annotate(wrapped) left %q, want %q", got, want)
	}
}

package config

import (
	"strings"
	"testing"

	pb "github.com/pingap-go/pingap/gen/pingap/v1"
)

func TestCombinedAuthPluginErrors(t *testing.T) {
	t.Parallel()
	const head = "[plugins.p]\ncategory = \"combined_auth\"\n"
	tests := []struct{ desc, in, want string }{
		{"valid, array of tables", head + "hide_credentials = true\n" +
			"[[plugins.p.authorizations]]\napp_id = \"pingap\"\nsecret = \"123123\"\ndeviation = 60\nip_list = [\"10.0.0.0/8\", \"::1\"]\n" +
			"[[plugins.p.authorizations]]\napp_id = \"other\"\nsecret = \"456456\"\ndeviation = 5\n", ""},
		{"valid, inline", head + "authorizations = [{app_id = \"a\", secret = \"s\", deviation = 1}]\n", ""},
		{"authorizations required", head,
			`plugins.p.authorizations (line 10): required: at least one app`},
		{"app fields required", head + "[[plugins.p.authorizations]]\nip_list = []\n",
			"plugins.p.authorizations[0].app_id (line 12): required\n" +
				"plugins.p.authorizations[0].deviation (line 12): required: seconds ts may differ from the proxy's clock, greater than 0\n" +
				"plugins.p.authorizations[0].secret (line 12): required"},
		{"duplicate app_id", head + "authorizations = [\n{app_id = \"a\", secret = \"s1-secret\", deviation = 1},\n{app_id = \"a\", secret = \"s2-secret\", deviation = 1},\n]\n",
			`plugins.p.authorizations[1].app_id (line 14): duplicate app_id "a" (also authorizations[0])`},
		{"bad ip_list entry", head + "[[plugins.p.authorizations]]\napp_id = \"a\"\nsecret = \"s1-secret\"\ndeviation = 1\nip_list = [\"10.0.0.0/8\", \"nope\"]\n",
			`plugins.p.authorizations[0].ip_list[1] (line 16): "nope" is not an IP address or a CIDR such as "10.0.0.0/8"`},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			got := validationErrors(t, pluginBase+tt.in)
			if got != tt.want {
				t.Errorf("Validate =\n%s\nwant\n%s", got, tt.want)
			}
			if strings.Contains(got, "-secret") {
				t.Errorf("an error shows a secret: %s", got)
			}
		})
	}
}

// Options decode into the typed message, flat as in Pingap.
func TestCombinedAuthPluginDecodes(t *testing.T) {
	t.Parallel()
	s, err := ValidateBytes([]byte(pluginBase+"[plugins.p]\ncategory = \"combined_auth\"\nhide_credentials = true\n"+
		"[[plugins.p.authorizations]]\napp_id = \"pingap\"\nsecret = \"123123\"\ndeviation = 60\nip_list = [\"10.0.0.0/8\"]\n"), FormatTOML)
	if err != nil {
		t.Fatal(err)
	}
	c := s.GetPlugins()["p"].GetCombinedAuth()
	want := &pb.CombinedAuthApp{AppId: "pingap", Secret: "123123", Deviation: 60, IpList: []string{"10.0.0.0/8"}}
	if !c.GetHideCredentials() || len(c.GetAuthorizations()) != 1 || c.GetAuthorizations()[0].String() != want.String() {
		t.Fatalf("decoded %v", c)
	}
}

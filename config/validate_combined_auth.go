package config

import pb "github.com/pingap-go/pingap/gen/pingap/v1"

// checkCombinedAuthPlugin validates a "combined_auth" plugin's options:
// at least one app, each with a unique app_id, a secret, a deviation and
// parseable addresses. Messages never repeat a secret.
func checkCombinedAuthPlugin(v *validator, path string, p *pb.Plugin) {
	apps := p.GetCombinedAuth().GetAuthorizations()
	if len(apps) == 0 {
		v.fail(path+".authorizations", "required: at least one app")
	}
	first := map[string]int{}
	for i, a := range apps {
		at := indexPath(path+".authorizations", i)
		switch id := a.GetAppId(); {
		case id == "":
			v.fail(at+".app_id", "required")
		case first[id] > 0:
			v.fail(at+".app_id", "duplicate app_id %q (also authorizations[%d])", id, first[id]-1)
		default:
			first[id] = i + 1
		}
		if a.GetSecret() == "" {
			v.fail(at+".secret", "required")
		}
		if a.GetDeviation() == 0 {
			v.fail(at+".deviation", "required: seconds ts may differ from the proxy's clock, greater than 0")
		}
		for j, s := range a.GetIpList() {
			if _, err := ParseIPPrefix(s); err != nil {
				v.fail(indexPath(at+".ip_list", j), "%v", err)
			}
		}
	}
}

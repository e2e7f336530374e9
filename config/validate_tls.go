package config

import (
	"crypto/tls"

	pb "github.com/pingap-go/pingap/gen/pingap/v1"
)

// serverTLS checks a server's TLS and connection settings.
func (v *validator) serverTLS(path string, srv *pb.Server) {
	v.reference(path+".certificates", "certificate", srv.GetCertificates(), v.certificates)
	if srv.GetGlobalCertificates() && len(v.s.GetCertificates()) == 0 {
		v.fail(path+".global_certificates", "no certificates are defined")
	}
	minV, err := ParseTLSVersion(srv.GetTlsMinVersion(), tls.VersionTLS12)
	if err != nil {
		v.fail(path+".tls_min_version", "%v", err)
	}
	maxV, err2 := ParseTLSVersion(srv.GetTlsMaxVersion(), tls.VersionTLS13)
	if err2 != nil {
		v.fail(path+".tls_max_version", "%v", err2)
	}
	if err == nil && err2 == nil && minV > maxV {
		v.fail(path+".tls_max_version", "lower than tls_min_version")
	}
	if _, err := ParseCipherSuites(srv.GetTlsCipherList()); err != nil {
		v.fail(path+".tls_cipher_list", "%v", err)
	}
	if !ServerTLS(srv) {
		for field, set := range map[string]bool{
			"tls_min_version": srv.GetTlsMinVersion() != "",
			"tls_max_version": srv.GetTlsMaxVersion() != "",
			"tls_cipher_list": srv.GetTlsCipherList() != "",
		} {
			if set {
				v.fail(path+"."+field, "set on a server without certificates")
			}
		}
	}
	if n := srv.GetMaxHeaderCount(); n > 10000 {
		v.fail(path+".max_header_count", "%d is over the limit of 10000", n)
	}
}

// upstreamTLS checks an upstream's protocol, TLS and resilience settings.
func (v *validator) upstreamTLS(path string, up *pb.Upstream) {
	alpn, err := ParseALPN(up.GetAlpn())
	if err != nil {
		v.fail(path+".alpn", "%v", err)
	}
	if alpn == ALPNH2C && (up.GetTls() || up.GetSni() != "") {
		v.fail(path+".alpn", "h2c is HTTP/2 without TLS, but tls or sni is set: use h2")
	}
	if up.GetSni() != "" && !validHostname(up.GetSni()) {
		v.fail(path+".sni", "invalid server name %q", up.GetSni())
	}
	if ca := up.GetCaCert(); ca != "" {
		if _, err := LoadCertPool(ca); err != nil {
			v.fail(path+".ca_cert", "%v", err)
		}
	}
	if up.VerifyCert != nil && !UpstreamTLS(up) {
		v.fail(path+".verify_cert", "set on an upstream without TLS (set tls, sni or alpn h2)")
	}
	if _, field, err := ParseOutlierDetection(up.GetOutlierDetection()); err != nil {
		v.fail(path+".outlier_detection."+field, "%v", err)
	}
	if _, err := ParseHealthCheck(up.GetHealthCheck()); err != nil {
		v.fail(path+".health_check", "%v", err)
	}
	if up.MaxRetries != nil && up.GetMaxRetries() > 10 {
		v.fail(path+".max_retries", "%d is over the limit of 10", up.GetMaxRetries())
	}
}

package config

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net/url"
	"strings"

	pb "github.com/pingap-go/pingap/gen/pingap/v1"
)

// JWTAlgorithms are the signing algorithms of the jwt plugin, in the order
// error messages list them.
const JWTAlgorithms = "HS256, HS384, HS512, RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512, EdDSA"

// JWTKeyKind is the kind of key a JWT signing algorithm needs: "HMAC",
// "RSA", "ECDSA P-256", "ECDSA P-384", "ECDSA P-521" or "Ed25519"; empty
// for an unknown algorithm.
func JWTKeyKind(alg string) string {
	switch alg {
	case "HS256", "HS384", "HS512":
		return "HMAC"
	case "RS256", "RS384", "RS512", "PS256", "PS384", "PS512":
		return "RSA"
	case "ES256":
		return "ECDSA P-256"
	case "ES384":
		return "ECDSA P-384"
	case "ES512":
		return "ECDSA P-521"
	case "EdDSA":
		return "Ed25519"
	}
	return ""
}

// PublicKeyKind names a public key's kind as JWTKeyKind does ("RSA",
// "ECDSA P-256", "Ed25519", ...).
func PublicKeyKind(key crypto.PublicKey) string {
	switch k := key.(type) {
	case *rsa.PublicKey:
		return "RSA"
	case *ecdsa.PublicKey:
		return "ECDSA " + k.Curve.Params().Name
	case ed25519.PublicKey:
		return "Ed25519"
	}
	return fmt.Sprintf("%T", key)
}

// ParsePublicKey parses the first public key in PEM data: a "PUBLIC KEY"
// (PKIX) or "RSA PUBLIC KEY" (PKCS #1) block, or the key of a
// "CERTIFICATE". The key is an *rsa.PublicKey, an *ecdsa.PublicKey or an
// ed25519.PublicKey.
func ParsePublicKey(data []byte) (crypto.PublicKey, error) {
	for rest := data; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			return nil, errors.New("no PUBLIC KEY PEM block found")
		}
		var key crypto.PublicKey
		var err error
		switch b.Type {
		case "PUBLIC KEY":
			key, err = x509.ParsePKIXPublicKey(b.Bytes)
		case "RSA PUBLIC KEY":
			key, err = x509.ParsePKCS1PublicKey(b.Bytes)
		case "CERTIFICATE":
			var cert *x509.Certificate
			if cert, err = x509.ParseCertificate(b.Bytes); err == nil {
				key = cert.PublicKey
			}
		default:
			if strings.Contains(b.Type, "PRIVATE KEY") {
				// Say so rather than skip it: a private key pasted here is
				// a mistake, and worth rotating.
				return nil, errors.New("a private key where a public key belongs")
			}
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("invalid %s: %v", strings.ToLower(b.Type), err)
		}
		switch key.(type) {
		case *rsa.PublicKey, *ecdsa.PublicKey, ed25519.PublicKey:
			return key, nil
		}
		return nil, fmt.Errorf("unsupported key type %T: want RSA, ECDSA or Ed25519", key)
	}
}

// checkJWTPlugin validates a "jwt" plugin's options.
func checkJWTPlugin(v *validator, path string, p *pb.Plugin) {
	c := p.GetJwt()
	alg := c.GetAlgorithm()
	kind := JWTKeyKind(alg)
	if alg != "" && kind == "" {
		v.fail(path+".algorithm", "unknown algorithm %q (known: %s)", alg, JWTAlgorithms)
	}
	var set []string
	for _, f := range []struct{ name, value string }{
		{"secret", c.GetSecret()}, {"public_key", c.GetPublicKey()}, {"jwks_url", c.GetJwksUrl()},
	} {
		if f.value == "" {
			continue
		}
		if len(set) > 0 {
			v.fail(path+"."+f.name, "%s is set too: set only one of secret, public_key and jwks_url", set[0])
		}
		set = append(set, f.name)
	}
	switch {
	case len(set) == 0:
		v.fail(path+".secret", "required: one of secret, public_key and jwks_url")
	case set[0] == "secret":
		if kind != "" && kind != "HMAC" {
			v.fail(path+".algorithm", "%s needs a public key: secret goes with HS256, HS384 or HS512", alg)
		}
	case set[0] == "public_key":
		checkJWTPublicKey(v, path, c.GetPublicKey(), alg, kind)
	case set[0] == "jwks_url":
		if u, err := url.Parse(c.GetJwksUrl()); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			v.fail(path+".jwks_url", "%q is not an http(s) URL", c.GetJwksUrl())
		}
		if kind == "HMAC" {
			v.fail(path+".algorithm", "%s is an HMAC algorithm: a key set serves public keys (RS*, PS*, ES*, EdDSA)", alg)
		}
	}
	for _, f := range []struct{ field, name string }{{"header", c.GetHeader()}, {"cookie", c.GetCookie()}} {
		if f.name != "" && !ValidHeaderName(f.name) {
			v.fail(path+"."+f.field, "%q is not a valid %s name", f.name, f.field)
		}
	}
	if q := c.GetQuery(); strings.ContainsAny(q, "&=#;+% \t\r\n") {
		v.fail(path+".query", "%q is not a plain query parameter name", q)
	}
	for i, a := range c.GetAudience() {
		if a == "" {
			v.fail(indexPath(path+".audience", i), "empty audience")
		}
	}
	for i, s := range c.GetClaimsToHeaders() {
		if _, _, err := ParseClaimHeader(s); err != nil {
			v.fail(indexPath(path+".claims_to_headers", i), "%v", err)
		}
	}
	if ap := c.GetAuthPath(); ap != "" {
		if !strings.HasPrefix(ap, "/") {
			v.fail(path+".auth_path", "invalid path %q: must start with \"/\"", ap)
		}
		if c.GetSecret() == "" {
			v.fail(path+".auth_path", "needs secret: the tokens it issues are signed with it")
		}
	}
}

// checkJWTPublicKey checks that public_key loads and fits the algorithm.
func checkJWTPublicKey(v *validator, path, value, alg, kind string) {
	if alg == "" {
		v.fail(path+".algorithm", "required with public_key: one of %s", strings.TrimPrefix(JWTAlgorithms, "HS256, HS384, HS512, "))
	}
	data, ok := v.pemInput(path+".public_key", value)
	if !ok {
		return
	}
	key, err := ParsePublicKey(data)
	if err != nil {
		v.fail(path+".public_key", "%v", err)
		return
	}
	if kind == "" {
		return
	}
	if have := PublicKeyKind(key); have != kind {
		v.fail(path+".algorithm", "%s needs an %s key, public_key is %s", alg, kind, have)
	}
}

// ParseClaimHeader splits a claims_to_headers entry, "claim:Header", at its
// last colon (a claim name may hold colons, a header name cannot).
func ParseClaimHeader(s string) (claim, header string, err error) {
	i := strings.LastIndexByte(s, ':')
	if i < 0 {
		return "", "", fmt.Errorf("want \"claim:Header\", got %q", s)
	}
	claim, header = strings.TrimSpace(s[:i]), strings.TrimSpace(s[i+1:])
	if claim == "" {
		return "", "", fmt.Errorf("empty claim name in %q", s)
	}
	if !ValidHeaderName(header) {
		return "", "", fmt.Errorf("invalid header name %q in %q", header, s)
	}
	return claim, header, nil
}

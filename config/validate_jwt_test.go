package config

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"

	pb "github.com/pingap-go/pingap/gen/pingap/v1"
	"github.com/pingap-go/pingap/internal/testcert"
)

// publicPEM encodes key's public half as a "PUBLIC KEY" PEM block.
func publicPEM(t *testing.T, key crypto.Signer) string {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(key.Public())
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

func TestValidateJWTPlugin(t *testing.T) {
	t.Parallel()
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	rsaPEM, p256PEM, p384PEM, edPEM := publicPEM(t, rsaKey), publicPEM(t, p256), publicPEM(t, p384), publicPEM(t, edKey)
	pkcs1PEM := string(pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(&rsaKey.PublicKey)}))
	privPEM := string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(rsaKey)}))
	certPEM := testcert.SelfSigned(t, "idp.example.com", "idp.example.com").CertPEM // an ECDSA P-256 certificate
	keyFile := filepath.Join(t.TempDir(), "jwt.pub")
	if err := os.WriteFile(keyFile, []byte(edPEM), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		desc string
		cfg  *pb.JwtPlugin
		want string
	}{
		{desc: "secret", cfg: &pb.JwtPlugin{Secret: "s"}},
		{desc: "secret HS512", cfg: &pb.JwtPlugin{Secret: "s", Algorithm: "HS512"}},
		{desc: "RSA key", cfg: &pb.JwtPlugin{PublicKey: rsaPEM, Algorithm: "PS384"}},
		{desc: "PKCS1 RSA key", cfg: &pb.JwtPlugin{PublicKey: pkcs1PEM, Algorithm: "RS256"}},
		{desc: "ECDSA key", cfg: &pb.JwtPlugin{PublicKey: p384PEM, Algorithm: "ES384"}},
		{desc: "key of a certificate", cfg: &pb.JwtPlugin{PublicKey: certPEM, Algorithm: "ES256"}},
		{desc: "Ed25519 key file", cfg: &pb.JwtPlugin{PublicKey: keyFile, Algorithm: "EdDSA"}},
		{desc: "jwks", cfg: &pb.JwtPlugin{JwksUrl: "https://idp.example.com/keys", Algorithm: "ES256"}},
		{desc: "every option", cfg: &pb.JwtPlugin{Secret: "s", Header: "X-Token", Cookie: "jwt", Query: "access_token",
			Issuer: "i", Audience: []string{"a"}, ClaimsToHeaders: []string{"sub:X-User", "https://example.com/roles:X-Roles"},
			AuthPath: "/login"}},

		{desc: "no key", cfg: &pb.JwtPlugin{},
			want: "plugins.p.secret: required: one of secret, public_key and jwks_url"},
		{desc: "two keys", cfg: &pb.JwtPlugin{Secret: "s", JwksUrl: "https://idp/keys", PublicKey: rsaPEM},
			want: "plugins.p.jwks_url: secret is set too: set only one of secret, public_key and jwks_url\n" +
				"plugins.p.public_key: secret is set too: set only one of secret, public_key and jwks_url"},
		{desc: "unknown algorithm", cfg: &pb.JwtPlugin{Secret: "s", Algorithm: "none"},
			want: "plugins.p.algorithm: unknown algorithm \"none\" (known: " + JWTAlgorithms + ")"},
		{desc: "algorithm is case sensitive", cfg: &pb.JwtPlugin{Secret: "s", Algorithm: "hs256"},
			want: "plugins.p.algorithm: unknown algorithm \"hs256\" (known: " + JWTAlgorithms + ")"},
		{desc: "secret with RS256", cfg: &pb.JwtPlugin{Secret: "s", Algorithm: "RS256"},
			want: "plugins.p.algorithm: RS256 needs a public key: secret goes with HS256, HS384 or HS512"},
		{desc: "public key without algorithm", cfg: &pb.JwtPlugin{PublicKey: rsaPEM},
			want: "plugins.p.algorithm: required with public_key: one of RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512, EdDSA"},
		{desc: "public key with HS256", cfg: &pb.JwtPlugin{PublicKey: rsaPEM, Algorithm: "HS256"},
			want: "plugins.p.algorithm: HS256 needs an HMAC key, public_key is RSA"},
		{desc: "RS256 with an ECDSA key", cfg: &pb.JwtPlugin{PublicKey: p256PEM, Algorithm: "RS256"},
			want: "plugins.p.algorithm: RS256 needs an RSA key, public_key is ECDSA P-256"},
		{desc: "ES256 with a P-384 key", cfg: &pb.JwtPlugin{PublicKey: p384PEM, Algorithm: "ES256"},
			want: "plugins.p.algorithm: ES256 needs an ECDSA P-256 key, public_key is ECDSA P-384"},
		{desc: "EdDSA with an RSA key", cfg: &pb.JwtPlugin{PublicKey: rsaPEM, Algorithm: "EdDSA"},
			want: "plugins.p.algorithm: EdDSA needs an Ed25519 key, public_key is RSA"},
		{desc: "private key", cfg: &pb.JwtPlugin{PublicKey: privPEM, Algorithm: "RS256"},
			want: "plugins.p.public_key: a private key where a public key belongs"},
		{desc: "garbage PEM", cfg: &pb.JwtPlugin{PublicKey: "-----BEGIN nothing", Algorithm: "RS256"},
			want: "plugins.p.public_key: no PUBLIC KEY PEM block found"},
		{desc: "missing key file", cfg: &pb.JwtPlugin{PublicKey: "/nonexistent/jwt.pub", Algorithm: "RS256"},
			want: "plugins.p.public_key: cannot read \"/nonexistent/jwt.pub\": no such file or directory"},
		{desc: "jwks not http", cfg: &pb.JwtPlugin{JwksUrl: "file:///etc/keys.json"},
			want: "plugins.p.jwks_url: \"file:///etc/keys.json\" is not an http(s) URL"},
		{desc: "jwks with HS256", cfg: &pb.JwtPlugin{JwksUrl: "https://idp/keys", Algorithm: "HS256"},
			want: "plugins.p.algorithm: HS256 is an HMAC algorithm: a key set serves public keys (RS*, PS*, ES*, EdDSA)"},
		{desc: "bad names", cfg: &pb.JwtPlugin{Secret: "s", Header: "X Token", Cookie: "a;b", Query: "a&b"},
			want: "plugins.p.cookie: \"a;b\" is not a valid cookie name\n" +
				"plugins.p.header: \"X Token\" is not a valid header name\n" +
				"plugins.p.query: \"a&b\" is not a plain query parameter name"},
		{desc: "negative ttl", cfg: &pb.JwtPlugin{JwksUrl: "https://idp/keys", JwksTtl: durationpb.New(-time.Second)},
			want: "plugins.p.jwt.jwks_ttl: invalid duration -1s: negative"},
		{desc: "empty audience", cfg: &pb.JwtPlugin{Secret: "s", Audience: []string{"a", ""}},
			want: "plugins.p.audience[1]: empty audience"},
		{desc: "bad claims_to_headers", cfg: &pb.JwtPlugin{Secret: "s", ClaimsToHeaders: []string{"sub", ":X-User", "sub:X User"}},
			want: "plugins.p.claims_to_headers[0]: want \"claim:Header\", got \"sub\"\n" +
				"plugins.p.claims_to_headers[1]: empty claim name in \":X-User\"\n" +
				"plugins.p.claims_to_headers[2]: invalid header name \"X User\" in \"sub:X User\""},
		{desc: "auth_path without secret", cfg: &pb.JwtPlugin{JwksUrl: "https://idp/keys", AuthPath: "login"},
			want: "plugins.p.auth_path: invalid path \"login\": must start with \"/\"\n" +
				"plugins.p.auth_path: needs secret: the tokens it issues are signed with it"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			s := &pb.Snapshot{Plugins: map[string]*pb.Plugin{"p": {Category: "jwt", Config: &pb.Plugin_Jwt{Jwt: tt.cfg}}}}
			got := errString(Validate(s, nil))
			if got != tt.want {
				t.Errorf("Validate =\n%s\nwant\n%s", got, tt.want)
			}
			if tt.cfg.GetSecret() != "" && strings.Contains(got, tt.cfg.GetSecret()+"\"") {
				t.Errorf("an error repeats the secret: %s", got)
			}
		})
	}
}

// The TOML form: durations are strings, and a negative one is refused.
func TestValidateJWTPluginTOML(t *testing.T) {
	t.Parallel()
	ok := pluginBase + "[plugins.p]\ncategory = \"jwt\"\nsecret = \"s3cret\"\nleeway = \"30s\"\njwks_ttl = \"1m\"\n" +
		"token_ttl = \"1h\"\ndelay = \"100ms\"\nclaims_to_headers = [\"sub:X-User\"]\nhide_credentials = true\nrequire_exp = true\n"
	if _, err := ValidateBytes([]byte(ok), FormatTOML); err != nil {
		t.Fatalf("valid jwt plugin refused: %v", err)
	}
	bad := pluginBase + "[plugins.p]\ncategory = \"jwt\"\nsecret = \"s3cret\"\nleeway = \"-1s\"\n"
	_, err := ValidateBytes([]byte(bad), FormatTOML)
	if want := "plugins.p.leeway (line 13): invalid duration \"-1s\": negative"; err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("error %v\nwant it to contain %s", err, want)
	}
	if strings.Contains(err.Error(), "s3cret") {
		t.Fatalf("error repeats the secret: %v", err)
	}
}

func TestParsePublicKey(t *testing.T) {
	t.Parallel()
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	key, err := ParsePublicKey([]byte("junk before\n" + publicPEM(t, edKey)))
	if err != nil {
		t.Fatal(err)
	}
	if !edKey.Public().(ed25519.PublicKey).Equal(key) {
		t.Fatalf("parsed %v, want the Ed25519 key", key)
	}
	if _, err := ParsePublicKey([]byte("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")); err == nil ||
		!strings.HasPrefix(err.Error(), "invalid public key: ") {
		t.Fatalf("corrupt key: %v", err)
	}
}

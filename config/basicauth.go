package config

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
)

// BasicCredential is one parsed basic_auth authorization.
type BasicCredential struct {
	// User is the user name.
	User string
	// Bcrypt is the bcrypt hash of the password, when given so.
	Bcrypt string
	// SHA256 is the SHA-256 digest of the password, when given so (or
	// computed from a base64 "user:password").
	SHA256 []byte
	// Plain is the password of a base64 "user:password" entry.
	Plain string
}

// ParseBasicCredential parses "user:$2y$..." (bcrypt), "user:sha256:HEX" or
// base64("user:password").
func ParseBasicCredential(s string) (BasicCredential, error) {
	if user, rest, ok := strings.Cut(s, ":"); ok && user != "" {
		switch {
		case strings.HasPrefix(rest, "$2a$") || strings.HasPrefix(rest, "$2b$") || strings.HasPrefix(rest, "$2y$"):
			return BasicCredential{User: user, Bcrypt: rest}, nil
		case strings.HasPrefix(rest, "sha256:"):
			d, err := hex.DecodeString(strings.TrimPrefix(rest, "sha256:"))
			if err != nil || len(d) != 32 {
				return BasicCredential{}, fmt.Errorf("user %q: sha256 must be 64 hex digits", user)
			}
			return BasicCredential{User: user, SHA256: d}, nil
		}
	}
	raw, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return BasicCredential{}, fmt.Errorf("want \"user:$2y$...\", \"user:sha256:HEX\" or base64 of \"user:password\"")
	}
	user, pass, ok := strings.Cut(string(raw), ":")
	if !ok || user == "" {
		return BasicCredential{}, fmt.Errorf("base64 form must decode to \"user:password\"")
	}
	return BasicCredential{User: user, Plain: pass}, nil
}

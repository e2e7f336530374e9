package controlplane

import (
	"testing"

	pb "github.com/pingap-go/pingap/gen/pingap/v1"
)

func TestTokenAuthenticator(t *testing.T) {
	t.Parallel()
	if authenticator(nil, nil) != nil {
		t.Fatal("an authenticator without tokens or mutual TLS")
	}
	auth := authenticator(nil, []string{"old-token", "right-token"})
	for token, ok := range map[string]bool{
		"old-token": true, "right-token": true,
		"": false, "right": false, "right-token-2": false, "wrong-token": false,
	} {
		err := auth(t.Context(), &pb.Hello{Node: &pb.Node{Id: "n1"}, Token: token})
		if (err == nil) != ok {
			t.Errorf("token %q: %v, want accepted %v", token, err, ok)
		}
	}
}

package controlplane

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"fmt"
	"slices"

	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/peer"

	"github.com/pingap-go/pingap/controlplane/discovery"
	pb "github.com/pingap-go/pingap/gen/pingap/v1"
)

// authenticator checks a data plane's Hello: with mutual TLS, the node id
// must be named by the verified client certificate; otherwise, when tokens
// are configured, the Hello must carry one of them. Tokens are compared by
// their SHA-256 digests, in constant time with every accepted one, so
// neither a token's length nor the position of a match shows in the timing
// (as the admin API's tokens). With neither, every node is accepted.
func authenticator(tlsCfg *tls.Config, tokens []string) func(context.Context, *pb.Hello) error {
	mtls := tlsCfg != nil && tlsCfg.ClientAuth == tls.RequireAndVerifyClientCert
	if !mtls && len(tokens) == 0 {
		return nil
	}
	digests := make([][sha256.Size]byte, len(tokens))
	for i, t := range tokens {
		digests[i] = sha256.Sum256([]byte(t))
	}
	return func(ctx context.Context, hello *pb.Hello) error {
		id := hello.GetNode().GetId()
		if mtls {
			p, ok := peer.FromContext(ctx)
			if !ok {
				return fmt.Errorf("no peer information")
			}
			info, ok := p.AuthInfo.(credentials.TLSInfo)
			if !ok || len(info.State.VerifiedChains) == 0 {
				return fmt.Errorf("no verified client certificate")
			}
			leaf := info.State.VerifiedChains[0][0]
			if leaf.Subject.CommonName != id && !slices.Contains(leaf.DNSNames, id) {
				return fmt.Errorf("%w: node id %q is not named by its client certificate", discovery.ErrPermissionDenied, id)
			}
			return nil
		}
		got := sha256.Sum256([]byte(hello.GetToken()))
		match := 0
		for _, d := range digests {
			match |= subtle.ConstantTimeCompare(got[:], d[:])
		}
		if match == 1 {
			return nil
		}
		return fmt.Errorf("missing or unknown bootstrap token")
	}
}

package controlplane

import (
	"context"
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
// are configured, the Hello must carry one of them (compared in constant
// time). With neither, every node is accepted.
func authenticator(tlsCfg *tls.Config, tokens []string) func(context.Context, *pb.Hello) error {
	mtls := tlsCfg != nil && tlsCfg.ClientAuth == tls.RequireAndVerifyClientCert
	if !mtls && len(tokens) == 0 {
		return nil
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
		for _, t := range tokens {
			if subtle.ConstantTimeCompare([]byte(t), []byte(hello.GetToken())) == 1 {
				return nil
			}
		}
		return fmt.Errorf("missing or unknown bootstrap token")
	}
}

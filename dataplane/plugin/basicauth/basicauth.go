// Package basicauth is the "basic_auth" plugin: HTTP Basic authentication
// against bcrypt, SHA-256 or (as in Pingap) base64 credentials.
package basicauth

import (
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"net/http"
	"strconv"

	"golang.org/x/crypto/bcrypt"

	"github.com/pingap-go/pingap/config"
	"github.com/pingap-go/pingap/dataplane/plugin"
	pb "github.com/pingap-go/pingap/gen/pingap/v1"
)

// Category is the plugin's category name.
const Category = "basic_auth"

// Register adds the plugin to r.
func Register(r *plugin.Registry) { r.Register(Category, New) }

// cred is a user's stored secret: a bcrypt hash or a SHA-256 digest.
type cred struct {
	bcrypt []byte
	sha    [32]byte
}

// New parses the credentials once.
func New(ctx plugin.BuildContext, _ string, cfg *pb.Plugin) (plugin.Middleware, error) {
	c := cfg.GetBasicAuth()
	if len(c.GetAuthorizations()) == 0 {
		return nil, fmt.Errorf("authorizations: required")
	}
	users := map[string]cred{}
	for i, s := range c.GetAuthorizations() {
		bc, err := config.ParseBasicCredential(s)
		if err != nil {
			return nil, fmt.Errorf("authorizations[%d]: %w", i, err)
		}
		var cr cred
		switch {
		case bc.Bcrypt != "":
			cr.bcrypt = []byte(bc.Bcrypt)
		case bc.SHA256 != nil:
			copy(cr.sha[:], bc.SHA256)
		default:
			cr.sha = sha256.Sum256([]byte(bc.Plain))
		}
		users[bc.User] = cr
	}
	realm := c.GetRealm()
	if realm == "" {
		realm = "pingap"
	}
	challenge := `Basic realm=` + strconv.Quote(realm) + `, charset="UTF-8"`
	delay, hide := c.GetDelay().AsDuration(), c.GetHideCredentials()
	dummy := dummyCred(users)
	refused := ctx.Count("refused")
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			user, pass, ok := r.BasicAuth()
			cr, known := users[user]
			if !known {
				cr = dummy
			}
			if !ok || !check(cr, pass) || !known {
				if !plugin.Wait(r, delay) {
					return
				}
				w.Header()["Www-Authenticate"] = []string{challenge}
				refused()
				plugin.Answer(w, http.StatusUnauthorized, "unauthorized")
				return
			}
			if hide {
				delete(r.Header, "Authorization")
			}
			next.ServeHTTP(w, r)
		})
	}, nil
}

// dummyCred is the secret an unknown user is checked against, so that the
// check takes as long as a known user's: the costliest bcrypt hash among
// users when there is one (a password that matches it still fails, the
// user being unknown), else a SHA-256 digest no password has.
func dummyCred(users map[string]cred) cred {
	dummy, dummyCost := cred{sha: sha256.Sum256([]byte("\x00no such user"))}, -1
	for _, cr := range users {
		if cr.bcrypt == nil {
			continue
		}
		if cost, err := bcrypt.Cost(cr.bcrypt); err == nil && cost > dummyCost {
			dummy, dummyCost = cr, cost
		}
	}
	return dummy
}

func check(cr cred, pass string) bool {
	if cr.bcrypt != nil {
		return bcrypt.CompareHashAndPassword(cr.bcrypt, []byte(pass)) == nil
	}
	d := sha256.Sum256([]byte(pass))
	return subtle.ConstantTimeCompare(d[:], cr.sha[:]) == 1
}

package jwtauth

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"strconv"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/pingap-go/pingap/config"
	"github.com/pingap-go/pingap/dataplane/plugin"
	pb "github.com/pingap-go/pingap/gen/pingap/v1"
)

// maxAuthBody is the largest upstream answer at auth_path that is signed;
// a larger one is passed through unchanged.
const maxAuthBody = 1 << 20

// minter is Pingap's token issuing: the upstream's 2xx JSON-object answer
// to auth_path becomes the claims of a token the proxy signs.
type minter struct {
	path   string
	method jwt.SigningMethod
	secret []byte
	ttl    time.Duration
	clock  func() time.Time
	log    *slog.Logger
	// issued counts the tokens signed.
	issued func()
}

func newMinter(ctx plugin.BuildContext, c *pb.JwtPlugin) (*minter, error) {
	if c.GetAuthPath()[0] != '/' {
		return nil, fmt.Errorf("auth_path: %q must start with \"/\"", c.GetAuthPath())
	}
	if c.GetSecret() == "" {
		return nil, errors.New("auth_path: needs secret: the tokens it issues are signed with it")
	}
	alg := c.GetAlgorithm()
	if alg == "" {
		alg = "HS256"
	}
	if config.JWTKeyKind(alg) != "HMAC" {
		return nil, fmt.Errorf("auth_path: needs an HS algorithm, not %s", alg)
	}
	ttl := c.GetTokenTtl().AsDuration()
	if ttl <= 0 {
		ttl = DefaultTokenTTL
	}
	return &minter{path: c.GetAuthPath(), method: jwt.GetSigningMethod(alg), secret: []byte(c.GetSecret()),
		ttl: ttl, clock: ctx.Clock(), log: ctx.Log(), issued: ctx.Count("issued")}, nil
}

// serve forwards the request and answers {"token": "..."} when the
// upstream answered 2xx with a JSON object; any other answer goes to the
// client unchanged.
func (m *minter) serve(next http.Handler, w http.ResponseWriter, r *http.Request) {
	// A compressed answer could not be read as JSON.
	delete(r.Header, "Accept-Encoding")
	c := &capture{w: w, header: http.Header{}}
	next.ServeHTTP(c, r)
	if c.passed {
		return
	}
	claims, ok := jsonObject(c.body.Bytes())
	if !ok {
		c.passThrough()
		return
	}
	now := m.clock()
	claims["iat"] = now.Unix()
	claims["exp"] = now.Add(m.ttl).Unix()
	tok, err := jwt.NewWithClaims(m.method, claims).SignedString(m.secret)
	if err != nil {
		m.log.Error("jwt: cannot sign a token at auth_path", "err", err)
		plugin.Answer(w, http.StatusInternalServerError, "internal server error")
		return
	}
	m.issued()
	body, _ := json.Marshal(map[string]string{"token": tok})
	h := w.Header()
	h["Content-Type"] = []string{"application/json"}
	h["Content-Length"] = []string{strconv.Itoa(len(body))}
	h["Cache-Control"] = []string{"no-store"}
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

// jsonObject decodes b when it is exactly one JSON object; numbers keep
// their text.
func jsonObject(b []byte) (jwt.MapClaims, bool) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil || m == nil {
		return nil, false
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, false // something follows the object
	}
	return m, true
}

// capture holds back a 2xx answer of at most maxAuthBody bytes; any other
// answer is passed through to w as it comes.
type capture struct {
	w      http.ResponseWriter
	header http.Header
	code   int
	body   bytes.Buffer
	passed bool
}

func (c *capture) Header() http.Header {
	if c.passed {
		return c.w.Header()
	}
	return c.header
}

func (c *capture) WriteHeader(code int) {
	switch {
	case c.passed:
		c.w.WriteHeader(code)
	case code < 200 || c.code != 0:
		// An informational answer is dropped, a second status ignored.
	default:
		c.code = code
		if code > 299 {
			c.passThrough()
		}
	}
}

func (c *capture) Write(p []byte) (int, error) {
	if c.code == 0 && !c.passed {
		c.WriteHeader(http.StatusOK)
	}
	if !c.passed && c.body.Len()+len(p) > maxAuthBody {
		c.passThrough()
	}
	if c.passed {
		return c.w.Write(p)
	}
	return c.body.Write(p)
}

// Flush flushes an answer that is passed through; a held back one waits.
func (c *capture) Flush() {
	if c.passed {
		_ = http.NewResponseController(c.w).Flush()
	}
}

// passThrough sends what was held back and lets the rest through.
func (c *capture) passThrough() {
	if c.passed {
		return
	}
	c.passed = true
	maps.Copy(c.w.Header(), c.header)
	code := c.code
	if code == 0 {
		code = http.StatusOK
	}
	c.w.WriteHeader(code)
	if c.body.Len() > 0 {
		_, _ = c.w.Write(c.body.Bytes())
		c.body.Reset()
	}
}

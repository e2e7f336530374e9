package admin

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/pingap-go/pingap/config"
)

// Error codes: the stable "code" of every error body.
const (
	codeBadRequest       = "bad_request"        // 400: a malformed parameter or body
	codeUnauthorized     = "unauthorized"       // 401: no token, or an unknown one
	codeForbidden        = "forbidden"          // 403: a read token on a write
	codeNotFound         = "not_found"          // 404: no such cluster version, node or endpoint
	codeMethodNotAllowed = "method_not_allowed" // 405: the endpoint exists with other methods
	codeInvalidConfig    = "invalid_config"     // 400: the config failed validation; errors lists every problem
	codeConflict         = "conflict"           // 409: if_version / If-Match is not the current version
	codeBodyTooLarge     = "body_too_large"     // 413: the upload exceeds Options.MaxBody
	codeUnavailable      = "unavailable"        // 503: the store does not answer (readyz)
	codeInternal         = "internal"           // 500: anything else; details are logged
)

// apiError is the JSON error body: a stable code, a message, for
// validation every error with its place, and for a conflict the current
// version.
type apiError struct {
	Code           string           `json:"code"`
	Message        string           `json:"message"`
	Errors         config.ErrorList `json:"errors,omitempty"`
	CurrentVersion *uint64          `json:"current_version,omitempty"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// fail writes an error body. A config.ErrorList in err becomes the errors
// list; 5xx errors are logged.
func (a *API) fail(w http.ResponseWriter, status int, code string, err error) {
	a.writeError(w, status, apiError{Code: code, Message: err.Error()}, err)
}

func (a *API) writeError(w http.ResponseWriter, status int, body apiError, err error) {
	var list config.ErrorList
	if errors.As(err, &list) {
		body.Message = fmt.Sprintf("the config is invalid: %d error(s)", len(list))
		body.Errors = list
	}
	if status >= 500 {
		a.opts.Logger.Error("admin API error", "code", body.Code, "err", err)
		if status == http.StatusInternalServerError {
			body.Message = "internal error: " + err.Error()
		}
	}
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="pingap"`)
	}
	writeJSON(w, status, body)
}

// storeError answers a store failure: 404, 409 (with the current version)
// or 500.
func (a *API) storeError(w http.ResponseWriter, r *http.Request, cluster string, err error) {
	switch {
	case a.opts.IsNotFound(err):
		a.fail(w, http.StatusNotFound, codeNotFound, err)
	case a.opts.IsConflict(err):
		cur := a.currentVersion(r, cluster)
		a.writeError(w, http.StatusConflict, apiError{
			Code:           codeConflict,
			Message:        fmt.Sprintf("%v; the current version is %d: fetch it, re-check your change and retry with if_version=%d", err, cur, cur),
			CurrentVersion: &cur,
		}, err)
	default:
		a.fail(w, http.StatusInternalServerError, codeInternal, err)
	}
}

// protoJSON is a proto message rendered as protojson with the schema's
// field names (uint64 fields come out as strings, as protojson does).
type protoJSON struct{ m proto.Message }

// MarshalJSON implements json.Marshaler.
func (p protoJSON) MarshalJSON() ([]byte, error) {
	if p.m == nil {
		return []byte("null"), nil
	}
	return protojson.MarshalOptions{UseProtoNames: true}.Marshal(p.m)
}

// protoList renders a list of messages as a JSON array, [] when empty.
func protoList[M proto.Message](list []M) []protoJSON {
	out := make([]protoJSON, 0, len(list))
	for _, m := range list {
		out = append(out, protoJSON{m})
	}
	return out
}

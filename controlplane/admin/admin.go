// Package admin is the control plane's REST API: apply a config (TOML or
// JSON), read versions, list the fleet. Every apply is validated with the
// same validator as the CLI and the data plane before anything is stored.
package admin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/pingap-go/pingap/config"
	pb "github.com/pingap-go/pingap/gen/pingap/v1"
)

// Store is what the API needs of the version store.
type Store interface {
	Apply(ctx context.Context, cluster string, snap *pb.Snapshot, meta ApplyMeta) (*pb.VersionInfo, bool, error)
	Current(ctx context.Context, cluster string) (*pb.VersionInfo, *pb.Snapshot, error)
	Get(ctx context.Context, cluster string, version uint64) (*pb.VersionInfo, *pb.Snapshot, error)
	Versions(ctx context.Context, cluster string, limit int) ([]*pb.VersionInfo, error)
	Nodes(ctx context.Context, cluster string) ([]*pb.NodeStatus, error)
}

// ApplyMeta describes an apply: who, why, and the version it expects to
// replace.
type ApplyMeta struct {
	Author, Message string
	IfVersion       *uint64
}

// Options configure the API.
type Options struct {
	// Logger receives request errors; nil discards.
	Logger *slog.Logger
	// IsNotFound and IsConflict classify store errors.
	IsNotFound, IsConflict func(error) bool
	// MaxBody caps a config upload. Default: 32 MiB.
	MaxBody int64
}

// API serves /api/v1.
type API struct {
	store Store
	opts  Options
	mux   *http.ServeMux
}

// New returns the API over store.
func New(store Store, opts Options) *API {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.MaxBody == 0 {
		opts.MaxBody = 32 << 20
	}
	never := func(error) bool { return false }
	if opts.IsNotFound == nil {
		opts.IsNotFound = never
	}
	if opts.IsConflict == nil {
		opts.IsConflict = never
	}
	a := &API{store: store, opts: opts, mux: http.NewServeMux()}
	a.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok\n") })
	a.mux.HandleFunc("POST /api/v1/clusters/{cluster}/config", a.apply)
	a.mux.HandleFunc("POST /api/v1/clusters/{cluster}/validate", a.validate)
	a.mux.HandleFunc("GET /api/v1/clusters/{cluster}/config", a.get)
	a.mux.HandleFunc("GET /api/v1/clusters/{cluster}/versions", a.versions)
	a.mux.HandleFunc("GET /api/v1/clusters/{cluster}/versions/{version}", a.get)
	a.mux.HandleFunc("GET /api/v1/clusters/{cluster}/nodes", a.nodes)
	return a
}

// ServeHTTP serves the API.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) { a.mux.ServeHTTP(w, r) }

// apiError is the JSON error body: a stable code, a message, and for
// validation every error with its place.
type apiError struct {
	Code    string       `json:"code"`
	Message string       `json:"message"`
	Errors  []fieldError `json:"errors,omitempty"`
}

type fieldError struct {
	File    string `json:"file,omitempty"`
	Path    string `json:"path,omitempty"`
	Line    int    `json:"line,omitempty"`
	Message string `json:"message"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func (a *API) fail(w http.ResponseWriter, status int, code string, err error) {
	body := apiError{Code: code, Message: err.Error()}
	var list config.ErrorList
	if errors.As(err, &list) {
		body.Message = fmt.Sprintf("%d validation errors", len(list))
		for _, e := range list {
			body.Errors = append(body.Errors, fieldError{File: e.File, Path: e.Path, Line: e.Line, Message: e.Msg})
		}
	}
	if status >= 500 {
		a.opts.Logger.Error("admin API error", "code", code, "err", err)
	}
	writeJSON(w, status, body)
}

// readConfig decodes and validates an uploaded config: JSON when the
// content type says so, TOML otherwise.
func (a *API) readConfig(w http.ResponseWriter, r *http.Request) (*pb.Snapshot, bool) {
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, a.opts.MaxBody))
	if err != nil {
		a.fail(w, http.StatusRequestEntityTooLarge, "body_too_large", err)
		return nil, false
	}
	format := config.FormatTOML
	if strings.Contains(r.Header.Get("Content-Type"), "json") {
		format = config.FormatJSON
	}
	snap, err := config.ValidateBytes(data, format)
	if err != nil {
		a.fail(w, http.StatusBadRequest, "invalid_config", err)
		return nil, false
	}
	return snap, true
}

func (a *API) validate(w http.ResponseWriter, r *http.Request) {
	snap, ok := a.readConfig(w, r)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"valid": true, "hash": config.Hash(snap)})
}

// applyResult is the answer to an apply.
type applyResult struct {
	Created bool            `json:"created"`
	Version json.RawMessage `json:"version"`
}

func (a *API) apply(w http.ResponseWriter, r *http.Request) {
	snap, ok := a.readConfig(w, r)
	if !ok {
		return
	}
	meta := ApplyMeta{Author: r.URL.Query().Get("author"), Message: r.URL.Query().Get("message")}
	if meta.Author == "" {
		meta.Author = r.Header.Get("X-Pingap-Author")
	}
	if v := r.URL.Query().Get("if_version"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			a.fail(w, http.StatusBadRequest, "bad_request", fmt.Errorf("if_version %q is not a version number", v))
			return
		}
		meta.IfVersion = &n
	}
	info, created, err := a.store.Apply(r.Context(), r.PathValue("cluster"), snap, meta)
	switch {
	case err != nil && a.opts.IsConflict(err):
		a.fail(w, http.StatusConflict, "conflict", err)
		return
	case err != nil:
		a.fail(w, http.StatusInternalServerError, "store_error", err)
		return
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	writeJSON(w, status, applyResult{Created: created, Version: marshal(info)})
}

// configResult is a version with its content.
type configResult struct {
	Version json.RawMessage `json:"version"`
	Config  json.RawMessage `json:"config"`
}

func (a *API) get(w http.ResponseWriter, r *http.Request) {
	cluster := r.PathValue("cluster")
	var (
		info *pb.VersionInfo
		snap *pb.Snapshot
		err  error
	)
	if v := r.PathValue("version"); v != "" {
		n, perr := strconv.ParseUint(v, 10, 64)
		if perr != nil {
			a.fail(w, http.StatusBadRequest, "bad_request", fmt.Errorf("%q is not a version number", v))
			return
		}
		info, snap, err = a.store.Get(r.Context(), cluster, n)
	} else {
		info, snap, err = a.store.Current(r.Context(), cluster)
	}
	switch {
	case err != nil && a.opts.IsNotFound(err):
		a.fail(w, http.StatusNotFound, "not_found", err)
		return
	case err != nil:
		a.fail(w, http.StatusInternalServerError, "store_error", err)
		return
	}
	writeJSON(w, http.StatusOK, configResult{Version: marshal(info), Config: marshal(snap)})
}

func (a *API) versions(w http.ResponseWriter, r *http.Request) {
	limit := 100
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			a.fail(w, http.StatusBadRequest, "bad_request", fmt.Errorf("limit %q is not a positive number", v))
			return
		}
		limit = n
	}
	list, err := a.store.Versions(r.Context(), r.PathValue("cluster"), limit)
	if err != nil {
		a.fail(w, http.StatusInternalServerError, "store_error", err)
		return
	}
	out := make([]json.RawMessage, 0, len(list))
	for _, v := range list {
		out = append(out, marshal(v))
	}
	writeJSON(w, http.StatusOK, map[string]any{"versions": out})
}

func (a *API) nodes(w http.ResponseWriter, r *http.Request) {
	list, err := a.store.Nodes(r.Context(), r.PathValue("cluster"))
	if err != nil {
		a.fail(w, http.StatusInternalServerError, "store_error", err)
		return
	}
	out := make([]json.RawMessage, 0, len(list))
	for _, n := range list {
		out = append(out, marshal(n))
	}
	writeJSON(w, http.StatusOK, map[string]any{"nodes": out})
}

// marshal renders a proto message as JSON with the schema's field names.
func marshal(m proto.Message) json.RawMessage {
	b, err := protojson.MarshalOptions{UseProtoNames: true, EmitUnpopulated: false}.Marshal(m)
	if err != nil {
		return json.RawMessage(`null`)
	}
	return b
}

package admin

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/pingap-go/pingap/config"
	pb "github.com/pingap-go/pingap/gen/pingap/v1"
)

// readConfig decodes and validates an uploaded config: JSON when the
// content type says so, TOML otherwise.
func (a *API) readConfig(w http.ResponseWriter, r *http.Request) (*pb.Snapshot, bool) {
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, a.opts.MaxBody))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			a.fail(w, http.StatusRequestEntityTooLarge, codeBodyTooLarge, fmt.Errorf("the config is larger than %d bytes", tooLarge.Limit))
		} else {
			a.fail(w, http.StatusBadRequest, codeBadRequest, fmt.Errorf("reading the body: %w", err))
		}
		return nil, false
	}
	format := config.FormatTOML
	if strings.Contains(r.Header.Get("Content-Type"), "json") {
		format = config.FormatJSON
	}
	snap, err := config.ValidateBytes(data, format)
	if err != nil {
		a.fail(w, http.StatusBadRequest, codeInvalidConfig, err)
		return nil, false
	}
	return snap, true
}

// versionParam parses an optional version number from the query.
func versionParam(r *http.Request, name string) (uint64, bool, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return 0, false, nil
	}
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		return 0, false, fmt.Errorf("%s %q is not a version number", name, v)
	}
	return n, true, nil
}

// applyMeta reads author, message and the expected version (if_version or
// an If-Match header) of an apply or rollback. The author defaults to the
// X-Pingap-Author header, then to the token's name.
func applyMeta(r *http.Request) (ApplyMeta, error) {
	q := r.URL.Query()
	meta := ApplyMeta{Author: q.Get("author"), Message: q.Get("message")}
	if meta.Author == "" {
		meta.Author = r.Header.Get("X-Pingap-Author")
	}
	if meta.Author == "" {
		meta.Author = callerName(r.Context())
	}
	n, ok, err := versionParam(r, "if_version")
	if err != nil {
		return meta, err
	}
	if m := r.Header.Get("If-Match"); m != "" {
		tag := strings.Trim(strings.TrimPrefix(strings.TrimSpace(m), "W/"), `"`)
		hn, err := strconv.ParseUint(tag, 10, 64)
		if err != nil {
			return meta, fmt.Errorf("If-Match %q is not a version number such as \"3\"", m)
		}
		if ok && hn != n {
			return meta, fmt.Errorf("if_version %d and If-Match %q disagree", n, m)
		}
		n, ok = hn, true
	}
	if ok {
		meta.IfVersion = &n
	}
	return meta, nil
}

// current returns the cluster's current version and snapshot, or 0 and
// nil when it has none.
func (a *API) current(r *http.Request, cluster string) (*pb.VersionInfo, *pb.Snapshot, error) {
	info, snap, err := a.store.Current(r.Context(), cluster)
	if err != nil && a.opts.IsNotFound(err) {
		return nil, nil, nil
	}
	return info, snap, err
}

// currentVersion returns the cluster's current version number, 0 when it
// has none or the store fails.
func (a *API) currentVersion(r *http.Request, cluster string) uint64 {
	list, err := a.store.Versions(r.Context(), cluster, 1)
	if err != nil || len(list) == 0 {
		return 0
	}
	return list[0].GetVersion()
}

func (a *API) validate(w http.ResponseWriter, r *http.Request) {
	snap, ok := a.readConfig(w, r)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"valid": true, "hash": config.Hash(snap)})
}

// applyResult answers an apply or a rollback.
type applyResult struct {
	Created bool            `json:"created"`
	Version protoJSON       `json:"version"`
	Diff    []config.Change `json:"diff,omitempty"`
}

// dryRunResult answers an apply with dry_run=true.
type dryRunResult struct {
	DryRun         bool            `json:"dry_run"`
	WouldCreate    bool            `json:"would_create"`
	Diff           []config.Change `json:"diff"`
	CurrentVersion uint64          `json:"current_version"`
}

func (a *API) apply(w http.ResponseWriter, r *http.Request) { a.applied(r, a.applyConfig(w, r)) }

// applyConfig answers an apply and returns its result for the metrics
// ("" for a dry run).
func (a *API) applyConfig(w http.ResponseWriter, r *http.Request) string {
	cluster := r.PathValue("cluster")
	meta, err := applyMeta(r)
	if err != nil {
		a.fail(w, http.StatusBadRequest, codeBadRequest, err)
		return applyInvalid
	}
	dryRun := false
	if v := r.URL.Query().Get("dry_run"); v != "" {
		if dryRun, err = strconv.ParseBool(v); err != nil {
			a.fail(w, http.StatusBadRequest, codeBadRequest, fmt.Errorf("dry_run %q is not true or false", v))
			return applyInvalid
		}
	}
	snap, ok := a.readConfig(w, r)
	if !ok {
		return applyInvalid
	}
	if dryRun {
		a.dryRun(w, r, cluster, snap, meta)
		return ""
	}
	info, created, err := a.store.Apply(r.Context(), cluster, snap, meta)
	if err != nil {
		return a.applyFailed(w, r, cluster, err)
	}
	a.created(w, r, cluster, info, snap, created, "config applied")
	return appliedResult(created)
}

// applyFailed answers a failed apply or rollback and classifies it.
func (a *API) applyFailed(w http.ResponseWriter, r *http.Request, cluster string, err error) string {
	a.storeError(w, r, cluster, err)
	switch {
	case a.opts.IsConflict(err):
		return applyConflict
	case a.opts.IsNotFound(err):
		return applyInvalid
	default:
		return applyError
	}
}

func appliedResult(created bool) string {
	if created {
		return applyCreated
	}
	return applyUnchanged
}

// created answers a successful apply or rollback; a new version comes
// with its diff from its parent.
func (a *API) created(w http.ResponseWriter, r *http.Request, cluster string, info *pb.VersionInfo, snap *pb.Snapshot, created bool, what string) {
	if !created {
		writeJSON(w, http.StatusOK, applyResult{Created: false, Version: protoJSON{info}})
		return
	}
	a.opts.Logger.Info(what, "cluster", cluster, "version", info.GetVersion(), "author", info.GetAuthor(),
		"token", callerName(r.Context()), "rollback_of", info.GetRollbackOf())
	var parent *pb.Snapshot
	if p := info.GetParent(); p > 0 {
		if _, ps, err := a.store.Get(r.Context(), cluster, p); err == nil {
			parent = ps
		}
	}
	writeJSON(w, http.StatusCreated, applyResult{Created: true, Version: protoJSON{info}, Diff: nonNil(config.Diff(parent, snap))})
}

func (a *API) dryRun(w http.ResponseWriter, r *http.Request, cluster string, snap *pb.Snapshot, meta ApplyMeta) {
	info, cur, err := a.current(r, cluster)
	if err != nil {
		a.storeError(w, r, cluster, err)
		return
	}
	if meta.IfVersion != nil && *meta.IfVersion != info.GetVersion() {
		v := info.GetVersion()
		a.writeError(w, http.StatusConflict, apiError{
			Code:           codeConflict,
			Message:        fmt.Sprintf("if_version %d is not the current version %d", *meta.IfVersion, v),
			CurrentVersion: &v,
		}, nil)
		return
	}
	writeJSON(w, http.StatusOK, dryRunResult{
		DryRun:         true,
		WouldCreate:    info == nil || config.Hash(snap) != info.GetHash(),
		Diff:           nonNil(config.Diff(cur, snap)),
		CurrentVersion: info.GetVersion(),
	})
}

func nonNil(c []config.Change) []config.Change {
	if c == nil {
		return []config.Change{}
	}
	return c
}

// configResult is a version with its content.
type configResult struct {
	Version protoJSON `json:"version"`
	Config  protoJSON `json:"config"`
}

// getConfig serves the current version, ?version=N or /versions/N, as
// JSON or (format=toml, or Accept: application/toml) as TOML.
func (a *API) getConfig(w http.ResponseWriter, r *http.Request) {
	cluster := r.PathValue("cluster")
	var (
		n   uint64
		set bool
		err error
	)
	if v := r.PathValue("version"); v != "" {
		n, err = strconv.ParseUint(v, 10, 64)
		set = true
		if err != nil {
			err = fmt.Errorf("%q is not a version number", v)
		}
	} else {
		n, set, err = versionParam(r, "version")
	}
	if err != nil {
		a.fail(w, http.StatusBadRequest, codeBadRequest, err)
		return
	}
	format := r.URL.Query().Get("format")
	if format == "" && strings.Contains(r.Header.Get("Accept"), "application/toml") {
		format = "toml"
	}
	if format != "" && format != "json" && format != "toml" {
		a.fail(w, http.StatusBadRequest, codeBadRequest, fmt.Errorf("format %q is neither json nor toml", format))
		return
	}
	var (
		info *pb.VersionInfo
		snap *pb.Snapshot
	)
	if set {
		info, snap, err = a.store.Get(r.Context(), cluster, n)
	} else {
		info, snap, err = a.store.Current(r.Context(), cluster)
	}
	if err != nil {
		a.storeError(w, r, cluster, err)
		return
	}
	v := strconv.FormatUint(info.GetVersion(), 10)
	w.Header().Set("X-Pingap-Version", v)
	w.Header().Set("ETag", `"`+v+`"`)
	if format != "toml" {
		writeJSON(w, http.StatusOK, configResult{Version: protoJSON{info}, Config: protoJSON{snap}})
		return
	}
	body, err := config.EncodeTOML(snap)
	if err != nil {
		a.fail(w, http.StatusInternalServerError, codeInternal, err)
		return
	}
	w.Header().Set("Content-Type", "application/toml")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

func (a *API) versions(w http.ResponseWriter, r *http.Request) {
	limit := 100
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			a.fail(w, http.StatusBadRequest, codeBadRequest, fmt.Errorf("limit %q is not a positive number", v))
			return
		}
		limit = n
	}
	list, err := a.store.Versions(r.Context(), r.PathValue("cluster"), limit)
	if err != nil {
		a.storeError(w, r, r.PathValue("cluster"), err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"versions": protoList(list)})
}

// diffResult is a diff between two versions, or the current version and a
// candidate (To 0).
type diffResult struct {
	From    uint64          `json:"from"`
	To      uint64          `json:"to"`
	Changes []config.Change `json:"changes"`
	Text    string          `json:"text"`
}

func newDiffResult(from, to uint64, a, b *pb.Snapshot) diffResult {
	changes := nonNil(config.Diff(a, b))
	return diffResult{From: from, To: to, Changes: changes, Text: config.FormatDiff(changes)}
}

// diffVersions serves GET diff?from=N&to=M: to defaults to the current
// version, from to to's parent (0: nothing, so everything is added).
func (a *API) diffVersions(w http.ResponseWriter, r *http.Request) {
	cluster := r.PathValue("cluster")
	from, fromSet, err := versionParam(r, "from")
	if err != nil {
		a.fail(w, http.StatusBadRequest, codeBadRequest, err)
		return
	}
	to, toSet, err := versionParam(r, "to")
	if err != nil {
		a.fail(w, http.StatusBadRequest, codeBadRequest, err)
		return
	}
	var (
		toInfo *pb.VersionInfo
		toSnap *pb.Snapshot
	)
	if toSet {
		toInfo, toSnap, err = a.store.Get(r.Context(), cluster, to)
	} else {
		toInfo, toSnap, err = a.store.Current(r.Context(), cluster)
	}
	if err != nil {
		a.storeError(w, r, cluster, err)
		return
	}
	if !fromSet {
		from = toInfo.GetParent()
	}
	var fromSnap *pb.Snapshot
	if from > 0 {
		if _, fromSnap, err = a.store.Get(r.Context(), cluster, from); err != nil {
			a.storeError(w, r, cluster, err)
			return
		}
	}
	writeJSON(w, http.StatusOK, newDiffResult(from, toInfo.GetVersion(), fromSnap, toSnap))
}

// diffCandidate serves POST diff: the current version against the
// uploaded config.
func (a *API) diffCandidate(w http.ResponseWriter, r *http.Request) {
	cluster := r.PathValue("cluster")
	snap, ok := a.readConfig(w, r)
	if !ok {
		return
	}
	info, cur, err := a.current(r, cluster)
	if err != nil {
		a.storeError(w, r, cluster, err)
		return
	}
	writeJSON(w, http.StatusOK, newDiffResult(info.GetVersion(), 0, cur, snap))
}

// rollback serves POST rollback?to=N: a new version with version N's
// content; to defaults to the current version's parent.
func (a *API) rollback(w http.ResponseWriter, r *http.Request) { a.applied(r, a.rollbackTo(w, r)) }

// applied counts an apply's or rollback's result and notes it on the
// request's span.
func (a *API) applied(r *http.Request, result string) {
	a.metrics.applied(result)
	if result != "" {
		trace.SpanFromContext(r.Context()).SetAttributes(attribute.String("pingap.apply.result", result))
	}
}

// rollbackTo answers a rollback and returns its result for the metrics.
func (a *API) rollbackTo(w http.ResponseWriter, r *http.Request) string {
	cluster := r.PathValue("cluster")
	meta, err := applyMeta(r)
	if err != nil {
		a.fail(w, http.StatusBadRequest, codeBadRequest, err)
		return applyInvalid
	}
	to, set, err := versionParam(r, "to")
	if err != nil {
		a.fail(w, http.StatusBadRequest, codeBadRequest, err)
		return applyInvalid
	}
	if !set {
		list, err := a.store.Versions(r.Context(), cluster, 1)
		if err != nil {
			return a.applyFailed(w, r, cluster, err)
		}
		if len(list) == 0 {
			a.fail(w, http.StatusNotFound, codeNotFound, fmt.Errorf("cluster %q has no version", cluster))
			return applyInvalid
		}
		if to = list[0].GetParent(); to == 0 {
			a.fail(w, http.StatusBadRequest, codeBadRequest,
				fmt.Errorf("version %d is the cluster's first: there is nothing before it to roll back to", list[0].GetVersion()))
			return applyInvalid
		}
	}
	if to == 0 {
		a.fail(w, http.StatusBadRequest, codeBadRequest, errors.New("to=0 is not a version"))
		return applyInvalid
	}
	info, created, err := a.store.Rollback(r.Context(), cluster, to, meta)
	if err != nil {
		return a.applyFailed(w, r, cluster, err)
	}
	var snap *pb.Snapshot
	if created {
		if _, snap, err = a.store.Get(r.Context(), cluster, info.GetVersion()); err != nil {
			// The version is made; only its diff is missing.
			a.storeError(w, r, cluster, err)
			return applyCreated
		}
	}
	a.created(w, r, cluster, info, snap, created, "config rolled back")
	return appliedResult(created)
}

// Package directory is the "directory" plugin: it serves static files from
// a directory, as nginx's root with index, autoindex and gzip_static.
//
// It is a terminal plugin: it answers every request that reaches it (a
// file, a listing, a redirect, 404, 403 or 405) and never calls the rest of
// the chain, so the location's upstream is never used.
//
// The request's URL path (the whole of it, location prefix included, as
// nginx's root) is looked up under the directory. A path that is not a
// plain local name — one climbing above the directory, holding a NUL byte,
// a backslash or an encoded slash — gets 404. Unless follow_symlinks is
// set, files are opened through an os.Root, which refuses anything outside
// the directory, symbolic links included.
package directory

import (
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pingap-go/pingap/config"
	"github.com/pingap-go/pingap/dataplane/plugin"
	pb "github.com/pingap-go/pingap/gen/pingap/v1"
)

// Category is the plugin's category name.
const Category = "directory"

// DefaultIndex is the index file tried when none is configured.
const DefaultIndex = "index.html"

// Register adds the plugin to r.
func Register(r *plugin.Registry) { r.Register(Category, New) }

// handler is one built directory plugin; it is immutable.
type handler struct {
	// dir is the served directory, absolute.
	dir            string
	index          []string
	autoindex      bool
	followSymlinks bool
	precompressed  bool
	download       bool
	// cacheControl is the Cache-Control of file responses, "" for none.
	cacheControl string
	charset      string
	// header holds the configured headers; its slices are clipped so an
	// append by a later writer never shares their arrays.
	header http.Header
}

// New builds the plugin. The directory must exist when the plugin is built
// (on the data plane, so a missing one fails the config there with the
// reason); validation does not look at the file system.
func New(_ plugin.BuildContext, _ string, cfg *pb.Plugin) (plugin.Middleware, error) {
	h, err := build(cfg.GetDirectory())
	if err != nil {
		return nil, err
	}
	return func(http.Handler) http.Handler { return h }, nil
}

func build(c *pb.DirectoryPlugin) (*handler, error) {
	if c.GetPath() == "" {
		return nil, errors.New("path: required")
	}
	dir, err := filepath.Abs(c.GetPath())
	if err != nil {
		return nil, fmt.Errorf("path: %w", err)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("path: %w", err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("path: %s is not a directory", dir)
	}
	h := &handler{
		dir:            dir,
		index:          c.GetIndex(),
		autoindex:      c.GetAutoindex(),
		followSymlinks: c.GetFollowSymlinks(),
		precompressed:  c.GetPrecompressed(),
		download:       c.GetDownload(),
		charset:        c.GetCharset(),
		header:         http.Header{},
	}
	if len(h.index) == 0 {
		h.index = []string{DefaultIndex}
	}
	for i, name := range h.index {
		if err := config.CheckIndexName(name); err != nil {
			return nil, fmt.Errorf("index[%d]: %w", i, err)
		}
	}
	if h.charset != "" && !config.ValidHeaderName(h.charset) {
		return nil, fmt.Errorf("charset: %q is not a charset name", h.charset)
	}
	if h.cacheControl, err = cacheControl(c); err != nil {
		return nil, err
	}
	for i, s := range c.GetHeaders() {
		hd, err := config.ParseHeader(s)
		if err != nil {
			return nil, fmt.Errorf("headers[%d]: %w", i, err)
		}
		h.header[hd.Name] = append(h.header[hd.Name], hd.Value)
	}
	for k, vv := range h.header {
		h.header[k] = slices.Clip(vv)
	}
	return h, nil
}

// cacheControl is "public, max-age=N" (or "private, ...") with max_age,
// "private" with private alone, and empty with neither.
func cacheControl(c *pb.DirectoryPlugin) (string, error) {
	scope := "public"
	if c.GetPrivate() {
		scope = "private"
	}
	if c.GetMaxAge() == nil {
		if c.GetPrivate() {
			return scope, nil
		}
		return "", nil
	}
	d := c.GetMaxAge().AsDuration()
	if d < 0 {
		return "", fmt.Errorf("max_age: %s is negative", d)
	}
	return scope + ", max-age=" + strconv.FormatInt(int64(d/time.Second), 10), nil
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header()["Allow"] = []string{"GET, HEAD"}
		plugin.Answer(w, http.StatusMethodNotAllowed, "method not allowed")
		return
	}
	name, ok := localName(r.URL.Path, r.URL.RawPath)
	if !ok {
		notFound(w)
		return
	}
	fsys, err := h.openFiles()
	if err != nil {
		notFound(w)
		return
	}
	defer func() { _ = fsys.Close() }()
	fi, err := fsys.Stat(name)
	switch {
	case err != nil:
		notFound(w)
	case fi.IsDir():
		h.serveDir(w, r, fsys, name)
	case fi.Mode().IsRegular() && !strings.HasSuffix(r.URL.Path, "/"):
		h.serveFile(w, r, fsys, name)
	default: // a device, socket or pipe; or "file/"
		notFound(w)
	}
}

func notFound(w http.ResponseWriter) { plugin.Answer(w, http.StatusNotFound, "not found") }

// serveDir answers a directory: a redirect to its slash form, its first
// index file, its listing, or 403 as nginx does when it has neither.
func (h *handler) serveDir(w http.ResponseWriter, r *http.Request, fsys files, name string) {
	if !strings.HasSuffix(r.URL.Path, "/") {
		// Built from the cleaned name, so "//evil.example" can never
		// become a protocol-relative Location.
		p := "/"
		if name != "." {
			p += name + "/"
		}
		loc := (&url.URL{Path: p, RawQuery: r.URL.RawQuery}).String()
		w.Header()["Location"] = []string{loc}
		plugin.Answer(w, http.StatusMovedPermanently, "moved permanently")
		return
	}
	for _, idx := range h.index {
		p := path.Join(name, idx)
		if fi, err := fsys.Stat(p); err == nil && fi.Mode().IsRegular() {
			h.serveFile(w, r, fsys, p)
			return
		}
	}
	if h.autoindex {
		h.serveListing(w, r, fsys, name)
		return
	}
	plugin.Answer(w, http.StatusForbidden, "forbidden")
}

// serveFile answers a regular file (or its precompressed sibling) with
// http.ServeContent, which handles Range, conditional requests and HEAD.
func (h *handler) serveFile(w http.ResponseWriter, r *http.Request, fsys files, name string) {
	hd := w.Header()
	ctype := h.contentType(name)
	f, enc := h.openPrecompressed(hd, r, fsys, name, ctype)
	if f == nil {
		var err error
		if f, err = fsys.Open(name); err != nil {
			notFound(w)
			return
		}
	}
	defer func() { _ = f.Close() }()
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		// Replaced between the Stat and the Open.
		notFound(w)
		return
	}
	hd["Content-Type"] = []string{ctype}
	hd["Etag"] = []string{etag(fi)}
	if enc != "" {
		hd["Content-Encoding"] = []string{enc}
		// ServeContent leaves the length of an encoded whole-file
		// answer unset (it expects on-the-fly compression); this one is
		// known. A range answer, a 304 or an error replace or drop it.
		hd["Content-Length"] = []string{strconv.FormatInt(fi.Size(), 10)}
	}
	if h.cacheControl != "" {
		hd["Cache-Control"] = []string{h.cacheControl}
	}
	if h.download {
		hd["Content-Disposition"] = []string{attachment(path.Base(name))}
	}
	h.addHeaders(hd)
	http.ServeContent(w, r, "", fi.ModTime(), f)
}

// openPrecompressed opens the best precompressed sibling of name the client
// accepts, returning nil when there is none (or precompressed is off or the
// type does not compress). It adds Vary: Accept-Encoding whenever the
// answer could depend on it.
func (h *handler) openPrecompressed(hd http.Header, r *http.Request, fsys files, name, ctype string) (*os.File, string) {
	if !h.precompressed || !compressible(ctype) {
		return nil, ""
	}
	hd.Add("Vary", "Accept-Encoding")
	order, n := acceptedCodings(r.Header["Accept-Encoding"])
	for _, i := range order[:n] {
		p := name + codings[i].suffix
		if fi, err := fsys.Stat(p); err != nil || !fi.Mode().IsRegular() {
			continue
		}
		if f, err := fsys.Open(p); err == nil {
			return f, codings[i].token
		}
	}
	return nil, ""
}

func (h *handler) addHeaders(hd http.Header) {
	for k, vv := range h.header {
		hd[k] = vv
	}
}

// etag is a strong validator from the file's modification time (Unix
// nanoseconds) and size, both in hex: "<mtime>-<size>".
func etag(fi os.FileInfo) string {
	b := make([]byte, 0, 32)
	b = append(b, '"')
	b = strconv.AppendInt(b, fi.ModTime().UnixNano(), 16)
	b = append(b, '-')
	b = strconv.AppendInt(b, fi.Size(), 16)
	b = append(b, '"')
	return string(b)
}

// contentType is the type of name's extension (application/octet-stream
// when unknown: content is never sniffed, as with nginx's default_type),
// with the configured charset on text, JavaScript and JSON types.
func (h *handler) contentType(name string) string {
	t := mime.TypeByExtension(path.Ext(name))
	if t == "" {
		return "application/octet-stream"
	}
	if h.charset == "" {
		return t
	}
	base, _, _ := strings.Cut(t, ";")
	base = strings.TrimSpace(base)
	if strings.HasPrefix(base, "text/") || strings.Contains(base, "javascript") || strings.Contains(base, "json") {
		return base + "; charset=" + h.charset
	}
	return t
}

// compressible reports whether a type is worth a precompressed variant:
// text, JavaScript, JSON, XML (SVG too), WebAssembly and uncompressed fonts.
func compressible(ctype string) bool {
	base, _, _ := strings.Cut(ctype, ";")
	switch {
	case strings.HasPrefix(base, "text/"), strings.Contains(base, "javascript"),
		strings.Contains(base, "json"), strings.Contains(base, "xml"):
		return true
	}
	switch strings.TrimSpace(base) {
	case "application/wasm", "font/ttf", "font/otf", "application/vnd.ms-fontobject":
		return true
	}
	return false
}

// attachment is a Content-Disposition for downloading a file called name,
// quoted (or RFC 2231 encoded) as mime.FormatMediaType does.
func attachment(name string) string {
	if v := mime.FormatMediaType("attachment", map[string]string{"filename": name}); v != "" {
		return v
	}
	return "attachment"
}

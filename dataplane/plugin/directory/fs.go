package directory

import (
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// localName maps a request's URL path to a slash-separated name relative to
// the root ("." for the root itself). It refuses (ok false) what could name
// something other than what the path says: a NUL byte, a backslash, an
// encoded slash ("%2F" in the raw path, which would otherwise become a
// separator), and a path that climbs above the root once cleaned ("/a/../b"
// is "b"; "/a/../../b" is refused). Leading and repeated slashes are
// dropped, so "//etc/passwd" is "etc/passwd" under the root.
func localName(urlPath, rawPath string) (name string, ok bool) {
	if urlPath == "" {
		urlPath = "/"
	}
	if urlPath[0] != '/' || strings.ContainsAny(urlPath, "\x00\\") || hasEncodedSlash(rawPath) {
		return "", false
	}
	rel := strings.TrimLeft(urlPath, "/")
	if rel == "" {
		return ".", true
	}
	name = path.Clean(rel)
	if name == ".." || strings.HasPrefix(name, "../") || !filepath.IsLocal(filepath.FromSlash(name)) {
		return "", false
	}
	return name, true
}

// hasEncodedSlash reports whether a raw (escaped) path holds "%2F" in any
// case.
func hasEncodedSlash(raw string) bool {
	for i := 0; i+2 < len(raw); i++ {
		if raw[i] == '%' && raw[i+1] == '2' && (raw[i+2] == 'f' || raw[i+2] == 'F') {
			return true
		}
	}
	return false
}

// files is the served directory as seen by one request: names are local,
// slash-separated and already checked by localName.
type files interface {
	// Stat follows symbolic links.
	Stat(name string) (fs.FileInfo, error)
	Open(name string) (*os.File, error)
	Close() error
}

// rootFiles resolves names inside an os.Root, which refuses every path that
// leaves the directory, through ".." or a symbolic link alike.
type rootFiles struct{ *os.Root }

// plainFiles resolves names by joining them to the directory: symbolic
// links are followed wherever they lead (follow_symlinks).
type plainFiles struct{ dir string }

func (p plainFiles) Stat(name string) (fs.FileInfo, error) {
	return os.Stat(filepath.Join(p.dir, filepath.FromSlash(name)))
}

func (p plainFiles) Open(name string) (*os.File, error) {
	return os.Open(filepath.Join(p.dir, filepath.FromSlash(name)))
}

func (plainFiles) Close() error { return nil }

// openFiles opens the served directory for one request. The directory is
// opened per request, not kept open, so replacing it (a deploy that swaps a
// symlink or renames a release directory) takes effect at once.
func (h *handler) openFiles() (files, error) {
	if h.followSymlinks {
		return plainFiles{dir: h.dir}, nil
	}
	root, err := os.OpenRoot(h.dir)
	if err != nil {
		return nil, err
	}
	return rootFiles{root}, nil
}

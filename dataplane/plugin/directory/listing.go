package directory

import (
	"bytes"
	"cmp"
	"html"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strconv"
	"time"
)

// listed is one line of a directory listing.
type listed struct {
	name  string
	dir   bool
	size  int64
	mtime time.Time
}

// serveListing answers a directory without an index file with an HTML list
// of its entries: directories first, then files, each group sorted by name,
// with sizes and modification times (UTC). A symbolic link is listed as
// what it points to; one that leads out of the directory (when
// follow_symlinks is off) or nowhere is left out.
func (h *handler) serveListing(w http.ResponseWriter, r *http.Request, fsys files, name string) {
	d, err := fsys.Open(name)
	if err != nil {
		notFound(w)
		return
	}
	des, err := d.ReadDir(-1)
	_ = d.Close()
	if err != nil {
		notFound(w)
		return
	}
	entries := make([]listed, 0, len(des))
	for _, de := range des {
		var fi fs.FileInfo
		if de.Type()&fs.ModeSymlink != 0 {
			fi, err = fsys.Stat(path.Join(name, de.Name()))
		} else {
			fi, err = de.Info()
		}
		if err != nil {
			continue
		}
		entries = append(entries, listed{name: de.Name(), dir: fi.IsDir(), size: fi.Size(), mtime: fi.ModTime()})
	}
	slices.SortFunc(entries, func(a, b listed) int {
		if a.dir != b.dir {
			if a.dir {
				return -1
			}
			return 1
		}
		return cmp.Compare(a.name, b.name)
	})
	shown := "/"
	if name != "." {
		shown += name + "/"
	}
	body := renderListing(shown, entries)
	hd := w.Header()
	hd["Content-Type"] = []string{"text/html; charset=utf-8"}
	hd["Content-Length"] = []string{strconv.Itoa(len(body))}
	h.addHeaders(hd)
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}

// renderListing writes the listing page of the directory shown at dirPath.
// Every name is escaped for HTML, and each link is "./" + the escaped name
// so that a name such as "javascript:x" stays a relative link.
func renderListing(dirPath string, entries []listed) []byte {
	var b bytes.Buffer
	title := html.EscapeString("Index of " + dirPath)
	b.WriteString("<!DOCTYPE html>\n<html>\n<head><meta charset=\"utf-8\"><title>")
	b.WriteString(title)
	b.WriteString("</title></head>\n<body>\n<h1>")
	b.WriteString(title)
	b.WriteString("</h1>\n<table>\n<tr><th>Name</th><th>Last modified</th><th>Size</th></tr>\n")
	if dirPath != "/" {
		b.WriteString("<tr><td><a href=\"../\">../</a></td><td></td><td></td></tr>\n")
	}
	for _, e := range entries {
		href, text, size := "./"+url.PathEscape(e.name), e.name, strconv.FormatInt(e.size, 10)
		if e.dir {
			href, text, size = href+"/", text+"/", "-"
		}
		b.WriteString("<tr><td><a href=\"")
		b.WriteString(html.EscapeString(href))
		b.WriteString("\">")
		b.WriteString(html.EscapeString(text))
		b.WriteString("</a></td><td>")
		b.WriteString(e.mtime.UTC().Format("2006-01-02 15:04:05"))
		b.WriteString("</td><td>")
		b.WriteString(size)
		b.WriteString("</td></tr>\n")
	}
	b.WriteString("</table>\n</body>\n</html>\n")
	return b.Bytes()
}

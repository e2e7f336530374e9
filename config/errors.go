package config

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// FieldError is one problem in a configuration: the field it concerns, the
// line of the source file it was read from (0 when unknown) and what is wrong.
// Its JSON form is what the admin API and `pingapctl validate -o json` carry.
type FieldError struct {
	// File is the source file, when a config was read from several files
	// (see Source.SetFile); empty otherwise.
	File string `json:"file,omitempty"`
	// Path names the object and field, e.g. "locations.api.path",
	// "upstreams.api.addrs[1]" or "settings.trusted_proxies[0]". Object names
	// that are not bare TOML keys are quoted: `upstreams."my api"`. Empty when
	// the problem cannot be tied to a field (a syntax error).
	Path string `json:"path,omitempty"`
	// Line is the 1-based line in the source file, 0 when unknown.
	Line int `json:"line,omitempty"`
	// Msg says what is wrong.
	Msg string `json:"message"`
}

// Error renders the error as `path (line N): msg`, or `line N: msg` when
// Path is empty; the line part is left out when Line is 0.
func (e *FieldError) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File + ": ")
	}
	b.WriteString(e.Path)
	switch {
	case e.Line > 0 && e.Path == "":
		b.WriteString("line " + strconv.Itoa(e.Line))
	case e.Line > 0:
		b.WriteString(" (line " + strconv.Itoa(e.Line) + ")")
	}
	if b.Len() > 0 {
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// ErrorList is every problem found in a configuration. Decode, Validate, Load
// and ValidateBytes return one sorted by line, then path; it is never empty
// when returned as an error.
type ErrorList []*FieldError

// Error renders one error per line, sorted by line, then path. The receiver
// is not modified.
func (l ErrorList) Error() string {
	s := make(ErrorList, len(l))
	copy(s, l)
	s.sort()
	lines := make([]string, len(s))
	for i, e := range s {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// sort orders the list by line, then path, then message.
func (l ErrorList) sort() {
	sort.SliceStable(l, func(i, j int) bool {
		a, b := l[i], l[j]
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		if a.Path != b.Path {
			return a.Path < b.Path
		}
		return a.Msg < b.Msg
	})
}

// result sorts and de-duplicates the list and returns it as an error, or nil
// when it is empty.
func (l ErrorList) result() error {
	if len(l) == 0 {
		return nil
	}
	l.sort()
	out := l[:1]
	for _, e := range l[1:] {
		last := out[len(out)-1]
		if *e != *last {
			out = append(out, e)
		}
	}
	return out
}

// Source maps the paths of a decoded configuration (in FieldError.Path form)
// to the lines they were read from. The zero value and nil are empty.
type Source struct {
	lines map[string]int
	files map[string]string // object path ("upstreams.api") -> file it came from
}

// SetFile records that the object at path (e.g. "upstreams.api") was read
// from file; errors about it and its fields then name the file.
func (s *Source) SetFile(path, file string) {
	if s.files == nil {
		s.files = make(map[string]string)
	}
	s.files[path] = file
}

// fileOf returns the file of path or of its closest parent with one.
func (s *Source) fileOf(path string) string {
	if s == nil {
		return ""
	}
	return nearest(s.files, path)
}

// Line returns the line path was read from, or 0 when it is unknown. It is
// safe on a nil Source.
func (s *Source) Line(path string) int {
	if s == nil {
		return 0
	}
	return s.lines[path]
}

// set records the line of path; the first record wins.
func (s *Source) set(path string, line int) {
	if line <= 0 {
		return
	}
	if s.lines == nil {
		s.lines = make(map[string]int)
	}
	if _, ok := s.lines[path]; !ok {
		s.lines[path] = line
	}
}

// lineOf returns the line of path or, when the path itself was not read
// (a missing required field), the line of its closest known parent.
func (s *Source) lineOf(path string) int {
	if s == nil {
		return 0
	}
	return nearest(s.lines, path)
}

// nearest returns the value m holds for path or, when it holds none, for
// the closest parent of path that has one; the zero value when none has.
func nearest[V comparable](m map[string]V, path string) V {
	var zero V
	if v := m[path]; v != zero {
		return v
	}
	ends := segmentEnds(path)
	for i := len(ends) - 2; i >= 0; i-- {
		if v := m[path[:ends[i]]]; v != zero {
			return v
		}
	}
	return zero
}

// segmentEnds returns the offsets at which each segment of a path ends:
// "a.b[1]" gives [1, 3, 6]. Quoted keys may contain dots and brackets.
func segmentEnds(path string) []int {
	var ends []int
	i := 0
	for i < len(path) {
		switch path[i] {
		case '.':
			i++
			continue
		case '"':
			q, err := strconv.QuotedPrefix(path[i:])
			if err != nil {
				return append(ends, len(path))
			}
			i += len(q)
		case '[':
			j := strings.IndexByte(path[i:], ']')
			if j < 0 {
				return append(ends, len(path))
			}
			i += j + 1
		default:
			for i < len(path) && path[i] != '.' && path[i] != '[' {
				i++
			}
		}
		ends = append(ends, i)
	}
	return ends
}

// pathKey renders an object name as a path segment: bare when it is a bare
// TOML key, quoted otherwise.
func pathKey(name string) string {
	if bareKey(name) {
		return name
	}
	return strconv.Quote(name)
}

// bareKey reports whether s may be written as a bare TOML key: not empty,
// only ASCII letters, digits, '_' and '-'.
func bareKey(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// ObjectPath is the path of the object called name in section
// ("servers", "locations", ...), its name quoted when it is not a bare
// key, as the validator writes it and Source.Annotate finds it.
func ObjectPath(section, name string) string { return joinPath(section, pathKey(name)) }

// joinPath appends a field or object name to a path.
func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// indexPath appends a list index to a path.
func indexPath(path string, i int) string {
	return path + "[" + strconv.Itoa(i) + "]"
}

// errorf builds a FieldError.
func errorf(path string, line int, format string, args ...any) *FieldError {
	return &FieldError{Path: path, Line: line, Msg: fmt.Sprintf(format, args...)}
}

// Annotate fills in the line (and, for a merged config, the file) of every
// FieldError in err (a *FieldError or an ErrorList, possibly wrapped) that
// has none, from where its path was read. Errors found after decoding, such
// as a busy listen address, thus point at the line to fix too. It returns
// err. Annotate before wrapping: a wrapper made by fmt.Errorf keeps the text
// it was made with.
func (s *Source) Annotate(err error) error {
	if s == nil || err == nil {
		return err
	}
	fill := func(fe *FieldError) {
		if fe.Line == 0 {
			fe.Line = s.Line(fe.Path)
		}
		if fe.File == "" {
			fe.File = s.fileOf(fe.Path)
		}
	}
	var list ErrorList
	if errors.As(err, &list) {
		for _, fe := range list {
			fill(fe)
		}
	}
	var fe *FieldError
	if errors.As(err, &fe) {
		fill(fe)
	}
	return err
}

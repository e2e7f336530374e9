package config

import (
	"errors"
	"sort"
	"unicode/utf8"

	"github.com/pelletier/go-toml/v2/unstable"
)

// This file turns a TOML document into a small tree of tables and values that
// remembers the line of every key, applying TOML's rules about tables and
// keys defined twice. decode.go then maps the tree onto the protobuf schema.

// tkind is the TOML type of a value.
type tkind int

const (
	tString tkind = iota
	tInteger
	tFloat
	tBool
	tDatetime
	tArray
	tTable
)

// tkindNames are the names used in "want X, got Y" messages.
var tkindNames = [...]string{
	tString:   "string",
	tInteger:  "integer",
	tFloat:    "float",
	tBool:     "boolean",
	tDatetime: "datetime",
	tArray:    "array",
	tTable:    "table",
}

func (k tkind) String() string { return tkindNames[k] }

// tvalue is a TOML value and the line it starts on.
type tvalue struct {
	kind tkind
	line int
	// str is the value of a string and the raw text of other scalars.
	str string
	arr []*tvalue
	tbl *ttable
	// arrayOfTables marks an array built by [[header]] sections.
	arrayOfTables bool
}

// table origins, which decide whether a table may be defined again.
const (
	implicit = iota // created as the parent of a [a.b] header
	header          // defined by a [header]
	dotted          // created by a dotted key a.b = 1
	inline          // an inline table {...}: sealed
)

// ttable is a TOML table; keys keeps the definition order.
type ttable struct {
	keys   []string
	vals   map[string]*tvalue
	origin int
}

func newTable(origin int) *ttable {
	return &ttable{vals: make(map[string]*tvalue), origin: origin}
}

func (t *ttable) put(key string, v *tvalue) {
	t.keys = append(t.keys, key)
	t.vals[key] = v
}

// tomlReader builds the tree, collecting errors.
type tomlReader struct {
	data    []byte
	newline []int // offsets of '\n' in data
	errs    ErrorList
}

// parseTOML parses data into a tree. It stops at the first syntax error,
// returning the tree read so far with all errors found.
func parseTOML(data []byte) (*ttable, ErrorList) {
	// A capacity equal to the length lets highlight offsets be computed from
	// capacities without reading past the input.
	data = data[:len(data):len(data)]
	r := &tomlReader{data: data}
	for i, c := range data {
		if c == '\n' {
			r.newline = append(r.newline, i)
		}
	}
	root := newTable(header)
	cur, curPath := root, ""
	var p unstable.Parser
	p.Reset(data)
	for p.NextExpression() {
		e := p.Expression()
		switch e.Kind {
		case unstable.Table, unstable.ArrayTable:
			cur, curPath = r.openTable(root, e)
		case unstable.KeyValue:
			r.keyValue(cur, curPath, e)
		}
	}
	if err := p.Error(); err != nil {
		r.errs = append(r.errs, r.syntaxError(err))
	}
	return root, r.errs
}

// syntaxError converts a parser error into a FieldError with a line.
func (r *tomlReader) syntaxError(err error) *FieldError {
	var perr *unstable.ParserError
	if !errors.As(err, &perr) {
		return errorf("", 0, "toml: %v", err)
	}
	off := cap(r.data) - cap(perr.Highlight)
	if perr.Highlight == nil || off < 0 || off > len(r.data) {
		off = len(r.data)
	}
	return errorf("", r.line(off), "toml syntax error: %s", perr.Message)
}

// line returns the 1-based line of a byte offset.
func (r *tomlReader) line(off int) int {
	return sort.SearchInts(r.newline, off) + 1
}

func (r *tomlReader) nodeLine(n *unstable.Node) int {
	if n == nil || n.Raw.Length == 0 {
		return 0
	}
	return r.line(int(n.Raw.Offset))
}

// keyParts returns the parts of a dotted key and the line of the first part.
func (r *tomlReader) keyParts(n *unstable.Node) ([]string, int) {
	var parts []string
	line := 0
	it := n.Key()
	for it.Next() {
		k := it.Node()
		if line == 0 {
			line = r.nodeLine(k)
		}
		parts = append(parts, string(k.Data))
	}
	return parts, line
}

// descend returns the table to define keys in when following one part of a
// dotted key or header: an existing table (the last one of an array of
// tables), or a new one of the given origin. It returns nil, after recording
// an error, when the name is already something else.
func (r *tomlReader) descend(t *ttable, path, key string, line, origin int) *ttable {
	v, ok := t.vals[key]
	if !ok {
		nt := newTable(origin)
		t.put(key, &tvalue{kind: tTable, line: line, tbl: nt})
		return nt
	}
	switch {
	case v.kind == tTable && v.tbl.origin != inline:
		return v.tbl
	case v.kind == tArray && v.arrayOfTables && len(v.arr) > 0:
		return v.arr[len(v.arr)-1].tbl
	}
	if v.kind == tTable {
		r.errs = append(r.errs, errorf(path, line, "cannot add to the inline table defined at line %d", v.line))
		return nil
	}
	r.errs = append(r.errs, errorf(path, line, "defined twice (first at line %d)", v.line))
	return nil
}

// openTable handles a [header] or [[header]] and returns the table that the
// following keys go to (a detached one after an error) and its path.
func (r *tomlReader) openTable(root *ttable, e *unstable.Node) (*ttable, string) {
	parts, line := r.keyParts(e)
	t, path := root, ""
	for _, k := range parts[:len(parts)-1] {
		path = joinPath(path, pathKey(k))
		if t = r.descend(t, path, k, line, implicit); t == nil {
			return newTable(header), path
		}
	}
	last := parts[len(parts)-1]
	path = joinPath(path, pathKey(last))
	v, exists := t.vals[last]
	if e.Kind == unstable.ArrayTable {
		nt := newTable(header)
		elem := &tvalue{kind: tTable, line: line, tbl: nt}
		switch {
		case !exists:
			t.put(last, &tvalue{kind: tArray, line: line, arr: []*tvalue{elem}, arrayOfTables: true})
		case v.kind == tArray && v.arrayOfTables:
			v.arr = append(v.arr, elem)
		default:
			r.errs = append(r.errs, errorf(path, line, "defined twice (first at line %d)", v.line))
			return nt, path
		}
		return nt, indexPath(path, len(t.vals[last].arr)-1)
	}
	if !exists {
		nt := newTable(header)
		t.put(last, &tvalue{kind: tTable, line: line, tbl: nt})
		return nt, path
	}
	if v.kind == tTable && v.tbl.origin == implicit {
		v.tbl.origin = header
		v.line = line
		return v.tbl, path
	}
	r.errs = append(r.errs, errorf(path, line, "defined twice (first at line %d)", v.line))
	return newTable(header), path
}

// keyValue handles `a.b.c = value` inside table t at path.
func (r *tomlReader) keyValue(t *ttable, path string, e *unstable.Node) {
	parts, line := r.keyParts(e)
	for _, k := range parts[:len(parts)-1] {
		path = joinPath(path, pathKey(k))
		if t = r.descend(t, path, k, line, dotted); t == nil {
			return
		}
	}
	last := parts[len(parts)-1]
	path = joinPath(path, pathKey(last))
	if v, ok := t.vals[last]; ok {
		r.errs = append(r.errs, errorf(path, line, "defined twice (first at line %d)", v.line))
		return
	}
	v := r.value(e.Value(), path, line)
	if v != nil {
		t.put(last, v)
	}
}

// value converts a value node; line is used when the node has no position
// of its own (arrays).
func (r *tomlReader) value(n *unstable.Node, path string, line int) *tvalue {
	if l := r.nodeLine(n); l > 0 {
		line = l
	}
	v := &tvalue{line: line}
	switch n.Kind {
	case unstable.String:
		if !utf8.Valid(n.Data) {
			r.errs = append(r.errs, errorf(path, line, "invalid UTF-8 in string"))
			return nil
		}
		v.kind, v.str = tString, string(n.Data)
	case unstable.Integer:
		v.kind, v.str = tInteger, string(n.Data)
	case unstable.Float:
		v.kind, v.str = tFloat, string(n.Data)
	case unstable.Bool:
		v.kind, v.str = tBool, string(n.Data)
	case unstable.LocalDate, unstable.LocalTime, unstable.LocalDateTime, unstable.DateTime:
		v.kind, v.str = tDatetime, string(n.Data)
	case unstable.Array:
		v.kind = tArray
		it := n.Children()
		for i := 0; it.Next(); {
			c := it.Node()
			if c.Kind == unstable.Comment {
				continue
			}
			if e := r.value(c, indexPath(path, i), line); e != nil {
				v.arr = append(v.arr, e)
			}
			i++
		}
	case unstable.InlineTable:
		v.kind, v.tbl = tTable, newTable(dotted)
		it := n.Children()
		for it.Next() {
			if c := it.Node(); c.Kind == unstable.KeyValue {
				r.keyValue(v.tbl, path, c)
			}
		}
		seal(v.tbl)
	default:
		r.errs = append(r.errs, errorf(path, line, "unsupported TOML value %s", n.Kind))
		return nil
	}
	return v
}

// seal marks an inline table and the tables its dotted keys created as
// closed to later definitions.
func seal(t *ttable) {
	t.origin = inline
	for _, v := range t.vals {
		if v.kind == tTable && v.tbl.origin == dotted {
			seal(v.tbl)
		}
	}
}

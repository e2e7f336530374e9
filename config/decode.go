package config

import (
	"math"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/durationpb"

	pb "github.com/pingap-go/pingap/gen/pingap/v1"
)

// Format is the encoding of a configuration file.
type Format int

// Configuration formats.
const (
	// FormatTOML is the human encoding: section and key names are the proto
	// field names.
	FormatTOML Format = iota
	// FormatJSON is the protojson encoding of pb.Snapshot.
	FormatJSON
)

// String returns "toml" or "json".
func (f Format) String() string {
	if f == FormatJSON {
		return "json"
	}
	return "toml"
}

// FormatFromPath returns FormatJSON for a ".json" file (any case) and
// FormatTOML for anything else.
func FormatFromPath(path string) Format {
	if strings.EqualFold(filepath.Ext(path), ".json") {
		return FormatJSON
	}
	return FormatTOML
}

// Decode decodes a configuration into a Snapshot and records, for TOML, the
// line of every path it set. It does not validate references or value
// syntaxes beyond types, durations and sizes: call Validate for that.
//
// The error is nil or an ErrorList with every decode error found (a TOML
// syntax error stops decoding, so problems after it are not reported). The
// returned Snapshot and Source are never nil; on error the Snapshot holds
// what could be decoded.
func Decode(data []byte, f Format) (*pb.Snapshot, *Source, error) {
	s, src := &pb.Snapshot{}, &Source{}
	var errs ErrorList
	if f == FormatJSON {
		errs = decodeJSON(data, s)
	} else {
		errs = decodeTOML(data, s, src)
	}
	return s, src, errs.result()
}

func decodeTOML(data []byte, s *pb.Snapshot, src *Source) ErrorList {
	root, errs := parseTOML(data)
	d := &decoder{src: src, errs: errs}
	d.message(s.ProtoReflect(), root, "")
	return d.errs
}

// protojsonPos finds the position protojson puts in its messages.
var protojsonPos = regexp.MustCompile(`\(line (\d+):\d+\):\s*`)

func decodeJSON(data []byte, s *pb.Snapshot) ErrorList {
	err := protojson.UnmarshalOptions{}.Unmarshal(data, s)
	if err == nil {
		return nil
	}
	msg := err.Error()
	line := 0
	if m := protojsonPos.FindStringSubmatchIndex(msg); m != nil {
		line, _ = strconv.Atoi(msg[m[2]:m[3]])
		msg = msg[m[1]:]
	} else if _, rest, ok := strings.Cut(msg, ":"); ok && strings.HasPrefix(msg, "proto") {
		msg = rest
	}
	msg = strings.TrimSpace(strings.ReplaceAll(msg, "\u00a0", " "))
	return ErrorList{errorf("", line, "json: %s", msg)}
}

// decoder maps a TOML tree onto a protobuf message generically, by walking
// the message descriptors.
type decoder struct {
	src  *Source
	errs ErrorList
}

func (d *decoder) fail(path string, line int, format string, args ...any) {
	d.errs = append(d.errs, errorf(path, line, format, args...))
}

// message sets the fields of m from table t.
func (d *decoder) message(m protoreflect.Message, t *ttable, path string) {
	fields := m.Descriptor().Fields()
	options := pluginOptions(m, t)
	for _, key := range t.keys {
		v := t.vals[key]
		p := joinPath(path, pathKey(key))
		fd := fields.ByName(protoreflect.Name(key))
		if fd == nil && options != nil {
			// A plugin's option written next to its category (Pingap's
			// shape): it belongs to the config message the category names.
			opts := options.Message().Fields()
			if ofd := opts.ByName(protoreflect.Name(key)); ofd != nil {
				d.src.set(p, v.line)
				d.src.set(joinPath(joinPath(path, string(options.Name())), pathKey(key)), v.line)
				d.field(m.Mutable(options).Message(), ofd, v, p)
				continue
			}
			d.fail(p, v.line, "unknown option %q of a %q plugin%s", key, string(options.Name()), suggest(key, opts))
			continue
		}
		if fd == nil {
			d.fail(p, v.line, "unknown field %q%s", key, suggest(key, fields))
			continue
		}
		d.src.set(p, v.line)
		d.field(m, fd, v, p)
	}
}

// pluginOptions returns, for a Plugin table whose category names one of its
// config fields, that field, so options written next to the category decode
// into its message; nil otherwise.
func pluginOptions(m protoreflect.Message, t *ttable) protoreflect.FieldDescriptor {
	if m.Descriptor().FullName() != pluginName {
		return nil
	}
	cat, ok := t.vals["category"]
	if !ok || cat.kind != tString {
		return nil
	}
	fd := m.Descriptor().Fields().ByName(protoreflect.Name(cat.str))
	if fd == nil || fd.ContainingOneof() == nil || fd.Message() == nil {
		return nil
	}
	return fd
}

// pluginName is the full name of the Plugin message.
const pluginName = "pingap.v1.Plugin"

// suggest returns ` (did you mean "x"?)` for the field name closest to key,
// or "" when none is close (see suggestName).
func suggest(key string, fields protoreflect.FieldDescriptors) string {
	names := make([]string, fields.Len())
	for i := range names {
		names[i] = string(fields.Get(i).Name())
	}
	return suggestName(key, names)
}

// editDistance is the Levenshtein distance between a and b, in bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// field sets one field of m from v.
func (d *decoder) field(m protoreflect.Message, fd protoreflect.FieldDescriptor, v *tvalue, path string) {
	switch {
	case fd.IsMap():
		if v.kind != tTable {
			d.fail(path, v.line, "want a table of %s, got %s", pluralName(fd.MapValue()), v.kind)
			return
		}
		if fd.MapKey().Kind() != protoreflect.StringKind {
			d.fail(path, v.line, "unsupported map key type %s", fd.MapKey().Kind())
			return
		}
		mp := m.Mutable(fd).Map()
		for _, k := range v.tbl.keys {
			ev := v.tbl.vals[k]
			p := joinPath(path, pathKey(k))
			d.src.set(p, ev.line)
			if val, ok := d.single(mp.NewValue, fd.MapValue(), ev, p); ok {
				mp.Set(protoreflect.ValueOfString(k).MapKey(), val)
			}
		}
	case fd.IsList():
		if v.kind != tArray {
			d.fail(path, v.line, "want an array of %s, got %s", pluralName(fd), v.kind)
			return
		}
		list := m.Mutable(fd).List()
		for i, ev := range v.arr {
			p := indexPath(path, i)
			d.src.set(p, ev.line)
			if val, ok := d.single(list.NewElement, fd, ev, p); ok {
				list.Append(val)
			}
		}
	default:
		if val, ok := d.single(func() protoreflect.Value { return m.NewField(fd) }, fd, v, path); ok {
			m.Set(fd, val)
		}
	}
}

// durationName is the full name of google.protobuf.Duration.
const durationName = "google.protobuf.Duration"

// single converts one value (a singular field, a list element or a map
// value). newMsg returns a fresh value for message kinds.
func (d *decoder) single(newMsg func() protoreflect.Value, fd protoreflect.FieldDescriptor, v *tvalue, path string) (protoreflect.Value, bool) {
	bad := func() (protoreflect.Value, bool) {
		d.fail(path, v.line, "want %s, got %s", wantName(fd), v.kind)
		return protoreflect.Value{}, false
	}
	switch fd.Kind() {
	case protoreflect.MessageKind, protoreflect.GroupKind:
		if fd.Message().FullName() == durationName {
			if v.kind != tString {
				return bad()
			}
			dur, err := ParseDuration(v.str)
			if err != nil {
				d.fail(path, v.line, "%v", err)
				return protoreflect.Value{}, false
			}
			return protoreflect.ValueOfMessage(durationpb.New(dur).ProtoReflect()), true
		}
		if v.kind != tTable {
			return bad()
		}
		val := newMsg()
		d.message(val.Message(), v.tbl, path)
		return val, true
	case protoreflect.StringKind:
		if v.kind != tString {
			return bad()
		}
		return protoreflect.ValueOfString(v.str), true
	case protoreflect.BytesKind:
		if v.kind != tString {
			return bad()
		}
		return protoreflect.ValueOfBytes([]byte(v.str)), true
	case protoreflect.BoolKind:
		if v.kind != tBool {
			return bad()
		}
		return protoreflect.ValueOfBool(v.str == "true"), true
	case protoreflect.EnumKind:
		if v.kind != tString {
			return bad()
		}
		ev := fd.Enum().Values().ByName(protoreflect.Name(v.str))
		if ev == nil {
			d.fail(path, v.line, "unknown value %q", v.str)
			return protoreflect.Value{}, false
		}
		return protoreflect.ValueOfEnum(ev.Number()), true
	case protoreflect.FloatKind, protoreflect.DoubleKind:
		if v.kind != tFloat && v.kind != tInteger {
			return bad()
		}
		f, err := strconv.ParseFloat(strings.ReplaceAll(v.str, "_", ""), 64)
		if err != nil {
			d.fail(path, v.line, "invalid number %s", v.str)
			return protoreflect.Value{}, false
		}
		if fd.Kind() == protoreflect.FloatKind {
			return protoreflect.ValueOfFloat32(float32(f)), true
		}
		return protoreflect.ValueOfFloat64(f), true
	}
	return d.integer(fd, v, path, bad)
}

// integer converts a value for an integer field; uint64 fields also take a
// size string.
func (d *decoder) integer(fd protoreflect.FieldDescriptor, v *tvalue, path string, bad func() (protoreflect.Value, bool)) (protoreflect.Value, bool) {
	var lo, hi int64
	switch fd.Kind() {
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		lo, hi = math.MinInt32, math.MaxInt32
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		lo, hi = math.MinInt64, math.MaxInt64
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		lo, hi = 0, math.MaxUint32
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		lo, hi = 0, math.MaxInt64
		if v.kind == tString {
			n, err := ParseSize(v.str)
			if err != nil {
				d.fail(path, v.line, "%v", err)
				return protoreflect.Value{}, false
			}
			return protoreflect.ValueOfUint64(n), true
		}
	default:
		return bad()
	}
	if v.kind != tInteger {
		return bad()
	}
	n, err := strconv.ParseInt(v.str, 0, 64)
	if err != nil || n < lo || n > hi {
		d.fail(path, v.line, "%s is out of range (%d..%d)", v.str, lo, hi)
		return protoreflect.Value{}, false
	}
	switch fd.Kind() {
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		return protoreflect.ValueOfInt32(int32(n)), true
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		return protoreflect.ValueOfInt64(n), true
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		return protoreflect.ValueOfUint32(uint32(n)), true
	default:
		return protoreflect.ValueOfUint64(uint64(n)), true
	}
}

// wantName describes what a field takes, for "want X" messages.
func wantName(fd protoreflect.FieldDescriptor) string {
	switch fd.Kind() {
	case protoreflect.MessageKind, protoreflect.GroupKind:
		if fd.Message().FullName() == durationName {
			return `a duration string such as "30s"`
		}
		return "a table"
	case protoreflect.StringKind, protoreflect.BytesKind, protoreflect.EnumKind:
		return "a string"
	case protoreflect.BoolKind:
		return "a boolean"
	case protoreflect.FloatKind, protoreflect.DoubleKind:
		return "a number"
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		return `an integer or a size string such as "1mb"`
	default:
		return "an integer"
	}
}

// pluralName describes the elements of a list, for "want an array of X".
func pluralName(fd protoreflect.FieldDescriptor) string {
	switch fd.Kind() {
	case protoreflect.MessageKind, protoreflect.GroupKind:
		if fd.Message().FullName() == durationName {
			return "duration strings"
		}
		return "tables"
	case protoreflect.StringKind, protoreflect.BytesKind, protoreflect.EnumKind:
		return "strings"
	case protoreflect.BoolKind:
		return "booleans"
	case protoreflect.FloatKind, protoreflect.DoubleKind:
		return "numbers"
	default:
		return "integers"
	}
}

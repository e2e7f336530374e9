package config

import (
	"bytes"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/durationpb"

	pb "github.com/pingap-go/pingap/gen/pingap/v1"
)

// EncodeTOML renders a snapshot as canonical TOML: the schema's section and
// field names ([settings], [servers.NAME], [upstreams.NAME.outlier_detection]),
// objects sorted by name, fields in schema order, only the fields that are
// set, durations as strings such as "10s" or "1m30s", sizes as integers of
// bytes. Decode(EncodeTOML(s)) gives back a snapshot equal to s
// (proto.Equal), so the output is fit for `pingapctl get -o toml > file`
// and a later apply of that file.
//
// It fails only for values TOML decoding cannot give back: a duration or a
// uint64 beyond the int64 range of nanoseconds or bytes, a negative
// duration, bytes that are not UTF-8 or an unnamed enum number. Validate
// refuses the negative durations; the others do not come from a decoded
// file.
func EncodeTOML(s *pb.Snapshot) ([]byte, error) {
	if s == nil {
		s = &pb.Snapshot{}
	}
	e := &tomlEncoder{}
	e.table(s.ProtoReflect(), nil, "")
	if e.err != nil {
		return nil, e.err
	}
	return e.buf.Bytes(), nil
}

// tomlEncoder writes TOML generically, by walking message descriptors; it
// is the inverse of decoder.
type tomlEncoder struct {
	buf bytes.Buffer
	err error
	// lenient renders values TOML cannot hold instead of failing; Diff uses
	// it, where the text is only shown.
	lenient bool
}

func (e *tomlEncoder) fail(path, format string, args ...any) {
	if e.err == nil {
		e.err = fmt.Errorf("config: encode %s: %s", path, fmt.Sprintf(format, args...))
	}
}

// inlineField reports whether a field is written as `key = value` inside its
// table rather than as a table of its own.
func inlineField(fd protoreflect.FieldDescriptor) bool {
	if fd.IsMap() {
		return false
	}
	return fd.IsList() || !isTableMessage(fd)
}

// isTableMessage reports whether fd holds a message other than a duration.
func isTableMessage(fd protoreflect.FieldDescriptor) bool {
	k := fd.Kind()
	return (k == protoreflect.MessageKind || k == protoreflect.GroupKind) && fd.Message().FullName() != durationName
}

// table writes m as the table named by header (nil: the document root):
// first its inline fields, then its sub-tables.
func (e *tomlEncoder) table(m protoreflect.Message, header []string, path string) {
	if header != nil {
		if e.buf.Len() > 0 {
			e.buf.WriteByte('\n')
		}
		e.buf.WriteString("[" + headerKey(header) + "]\n")
	}
	fields := m.Descriptor().Fields()
	for i := 0; i < fields.Len(); i++ {
		fd := fields.Get(i)
		if !m.Has(fd) || !inlineField(fd) {
			continue
		}
		p := joinPath(path, string(fd.Name()))
		e.buf.WriteString(tomlKey(string(fd.Name())) + " = " + e.value(fd, m.Get(fd), p) + "\n")
	}
	for i := 0; i < fields.Len(); i++ {
		fd := fields.Get(i)
		if !m.Has(fd) || inlineField(fd) {
			continue
		}
		sub := append(slices.Clip(header), string(fd.Name()))
		p := joinPath(path, string(fd.Name()))
		if !fd.IsMap() {
			e.table(m.Get(fd).Message(), sub, p)
			continue
		}
		e.mapTables(fd, m.Get(fd).Map(), sub, p)
	}
}

// mapTables writes a map field: one table per entry for message values,
// else one table of `key = value` lines.
func (e *tomlEncoder) mapTables(fd protoreflect.FieldDescriptor, mp protoreflect.Map, header []string, path string) {
	keys := mapKeys(mp)
	vd := fd.MapValue()
	if isTableMessage(vd) {
		for _, k := range keys {
			e.table(mp.Get(protoreflect.ValueOfString(k).MapKey()).Message(),
				append(slices.Clip(header), k), joinPath(path, pathKey(k)))
		}
		return
	}
	if e.buf.Len() > 0 {
		e.buf.WriteByte('\n')
	}
	e.buf.WriteString("[" + headerKey(header) + "]\n")
	for _, k := range keys {
		v := mp.Get(protoreflect.ValueOfString(k).MapKey())
		e.buf.WriteString(tomlKey(k) + " = " + e.scalar(vd, v, joinPath(path, pathKey(k))) + "\n")
	}
}

// mapKeys returns a string-keyed map's keys, sorted.
func mapKeys(mp protoreflect.Map) []string {
	keys := make([]string, 0, mp.Len())
	mp.Range(func(k protoreflect.MapKey, _ protoreflect.Value) bool {
		keys = append(keys, k.String())
		return true
	})
	slices.Sort(keys)
	return keys
}

// value renders a field's value inline: a list, a map as an inline table,
// or a single value.
func (e *tomlEncoder) value(fd protoreflect.FieldDescriptor, v protoreflect.Value, path string) string {
	switch {
	case fd.IsList():
		l := v.List()
		parts := make([]string, l.Len())
		for i := range parts {
			parts[i] = e.scalar(fd, l.Get(i), indexPath(path, i))
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case fd.IsMap():
		mp := v.Map()
		var parts []string
		for _, k := range mapKeys(mp) {
			parts = append(parts, tomlKey(k)+" = "+e.scalar(fd.MapValue(), mp.Get(protoreflect.ValueOfString(k).MapKey()), joinPath(path, pathKey(k))))
		}
		return inlineTable(parts)
	}
	return e.scalar(fd, v, path)
}

func inlineTable(parts []string) string {
	if len(parts) == 0 {
		return "{}"
	}
	return "{ " + strings.Join(parts, ", ") + " }"
}

// scalar renders one value of fd's kind (a singular value, a list element
// or a map value).
func (e *tomlEncoder) scalar(fd protoreflect.FieldDescriptor, v protoreflect.Value, path string) string {
	switch fd.Kind() {
	case protoreflect.MessageKind, protoreflect.GroupKind:
		if fd.Message().FullName() == durationName {
			return e.duration(v.Message(), path)
		}
		return e.inlineMessage(v.Message(), path)
	case protoreflect.StringKind:
		if !utf8.ValidString(v.String()) && !e.lenient {
			e.fail(path, "string is not valid UTF-8")
		}
		return quoteTOML(v.String())
	case protoreflect.BytesKind:
		if !utf8.Valid(v.Bytes()) && !e.lenient {
			e.fail(path, "bytes are not valid UTF-8")
		}
		return quoteTOML(string(v.Bytes()))
	case protoreflect.BoolKind:
		return strconv.FormatBool(v.Bool())
	case protoreflect.EnumKind:
		ev := fd.Enum().Values().ByNumber(v.Enum())
		if ev == nil {
			if !e.lenient {
				e.fail(path, "enum value %d has no name", v.Enum())
			}
			return strconv.Itoa(int(v.Enum()))
		}
		return quoteTOML(string(ev.Name()))
	case protoreflect.FloatKind:
		return formatFloat(v.Float(), 32)
	case protoreflect.DoubleKind:
		return formatFloat(v.Float(), 64)
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind, protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		if v.Uint() > math.MaxInt64 && !e.lenient {
			e.fail(path, "%d is larger than TOML integers allow", v.Uint())
		}
		return strconv.FormatUint(v.Uint(), 10)
	default:
		return strconv.FormatInt(v.Int(), 10)
	}
}

// inlineMessage renders a message as an inline table.
func (e *tomlEncoder) inlineMessage(m protoreflect.Message, path string) string {
	var parts []string
	fields := m.Descriptor().Fields()
	for i := 0; i < fields.Len(); i++ {
		fd := fields.Get(i)
		if m.Has(fd) {
			p := joinPath(path, string(fd.Name()))
			parts = append(parts, tomlKey(string(fd.Name()))+" = "+e.value(fd, m.Get(fd), p))
		}
	}
	return inlineTable(parts)
}

// duration renders a google.protobuf.Duration as a string ParseDuration
// reads back exactly.
func (e *tomlEncoder) duration(m protoreflect.Message, path string) string {
	d, ok := m.Interface().(*durationpb.Duration)
	if !ok {
		d = &durationpb.Duration{}
		fs := m.Descriptor().Fields()
		d.Seconds = m.Get(fs.ByName("seconds")).Int()
		d.Nanos = int32(m.Get(fs.ByName("nanos")).Int())
	}
	if err := d.CheckValid(); err != nil {
		if !e.lenient {
			e.fail(path, "invalid duration: %v", err)
		}
		return quoteTOML(fmt.Sprintf("%ds %dns", d.GetSeconds(), d.GetNanos()))
	}
	td := d.AsDuration()
	if back := durationpb.New(td); td < 0 || back.GetSeconds() != d.GetSeconds() || back.GetNanos() != d.GetNanos() {
		if !e.lenient {
			e.fail(path, "duration %ds cannot be written (negative or too long)", d.GetSeconds())
		}
		return quoteTOML(fmt.Sprintf("%ds", d.GetSeconds()))
	}
	return quoteTOML(FormatDuration(td))
}

// FormatDuration renders a duration the way configs write them: "0s",
// "250ms", "10s", "1m30s", "2h", "1h500ms": hours and minutes when they are
// not zero, then the rest as time.Duration.String renders it. ParseDuration
// reads every result back to the same duration. Negative durations are
// rendered by time.Duration.String.
func FormatDuration(d time.Duration) string {
	if d < time.Minute {
		return d.String()
	}
	var b strings.Builder
	if h := d / time.Hour; h > 0 {
		b.WriteString(strconv.FormatInt(int64(h), 10) + "h")
		d -= h * time.Hour
	}
	if m := d / time.Minute; m > 0 {
		b.WriteString(strconv.FormatInt(int64(m), 10) + "m")
		d -= m * time.Minute
	}
	if d > 0 {
		b.WriteString(d.String())
	}
	return b.String()
}

func formatFloat(f float64, bits int) string {
	switch {
	case math.IsNaN(f):
		return "nan"
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	}
	return strconv.FormatFloat(f, 'g', -1, bits)
}

// headerKey renders a table header's dotted key.
func headerKey(parts []string) string {
	keys := make([]string, len(parts))
	for i, p := range parts {
		keys[i] = tomlKey(p)
	}
	return strings.Join(keys, ".")
}

// tomlKey renders a key bare when TOML allows, else as a basic string.
func tomlKey(k string) string {
	if bareKey(k) {
		return k
	}
	return quoteTOML(k)
}

// quoteTOML renders s as a TOML basic string.
func quoteTOML(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\b':
			b.WriteString(`\b`)
		case '\t':
			b.WriteString(`\t`)
		case '\n':
			b.WriteString(`\n`)
		case '\f':
			b.WriteString(`\f`)
		case '\r':
			b.WriteString(`\r`)
		default:
			if r < 0x20 || r == 0x7f {
				fmt.Fprintf(&b, `\u%04X`, r)
			} else {
				b.WriteRune(r)
			}
		}
	}
	b.WriteByte('"')
	return b.String()
}

package config

import (
	"maps"
	"slices"
	"strings"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	pb "github.com/pingap-go/pingap/gen/pingap/v1"
)

// Operations of a Change.
const (
	// OpAdded: the object is in the new snapshot only.
	OpAdded = "added"
	// OpRemoved: the object is in the old snapshot only.
	OpRemoved = "removed"
	// OpChanged: the object is in both, with different content.
	OpChanged = "changed"
)

// Change is what happened to one object between two snapshots.
type Change struct {
	// Kind is the section: "settings", "servers", "locations", "upstreams",
	// "plugins" or "certificates".
	Kind string `json:"kind"`
	// Name is the object's name; empty for settings.
	Name string `json:"name"`
	// Op is OpAdded, OpRemoved or OpChanged.
	Op string `json:"op"`
	// Fields are the fields that differ, in schema order. For an added
	// object they are every field it sets (From empty), for a removed one
	// every field it had (To empty).
	Fields []FieldChange `json:"fields,omitempty"`
}

// FieldChange is one field that differs.
type FieldChange struct {
	// Path is the field's path inside the object: "addrs",
	// "outlier_detection.base_ejection_time". Lists and maps are compared
	// whole.
	Path string `json:"path"`
	// From and To render the old and new values as TOML values ("10s",
	// ["a", "b"], 3); empty means not set. Secrets (a certificate's
	// tls_key) are shown as "<redacted>".
	From string `json:"from"`
	To   string `json:"to"`
}

// redactedText replaces the value of secret fields in diffs.
const redactedText = "<redacted>"

// secret reports whether a field's value must not be shown in a diff.
func secret(fd protoreflect.FieldDescriptor) bool {
	return fd.FullName() == "pingap.v1.Certificate.tls_key"
}

// Diff compares two snapshots object by object and returns what changed,
// ordered by section (settings, servers, locations, upstreams, plugins,
// certificates) and then by name. A nil snapshot is empty, so Diff(nil, s)
// lists every object of s as added. As in Hash, an empty sub-message counts
// as absent, so snapshots with the same Hash have no changes.
func Diff(from, to *pb.Snapshot) []Change {
	a, b := cleanClone(from), cleanClone(to)
	var out []Change
	fields := a.Descriptor().Fields()
	for i := 0; i < fields.Len(); i++ {
		fd := fields.Get(i)
		kind := string(fd.Name())
		if !fd.IsMap() {
			out = appendChange(out, kind, "", a.Has(fd), b.Has(fd), a.Get(fd).Message(), b.Get(fd).Message())
			continue
		}
		am, bm := a.Get(fd).Map(), b.Get(fd).Map()
		for _, name := range unionKeys(am, bm) {
			k := protoreflect.ValueOfString(name).MapKey()
			out = appendChange(out, kind, name, am.Has(k), bm.Has(k), mapMessage(am, k), mapMessage(bm, k))
		}
	}
	return out
}

// cleanClone returns a copy of s with empty sub-messages dropped.
func cleanClone(s *pb.Snapshot) protoreflect.Message {
	c := &pb.Snapshot{}
	if s != nil {
		c = proto.Clone(s).(*pb.Snapshot)
	}
	dropEmpty(c.ProtoReflect())
	return c.ProtoReflect()
}

// mapMessage returns the message at k, or an empty one when k is absent.
func mapMessage(mp protoreflect.Map, k protoreflect.MapKey) protoreflect.Message {
	if v := mp.Get(k); v.IsValid() {
		return v.Message()
	}
	return mp.NewValue().Message()
}

func unionKeys(a, b protoreflect.Map) []string {
	seen := make(map[string]bool, a.Len()+b.Len())
	collect := func(k protoreflect.MapKey, _ protoreflect.Value) bool {
		seen[k.String()] = true
		return true
	}
	a.Range(collect)
	b.Range(collect)
	return slices.Sorted(maps.Keys(seen))
}

// appendChange compares one object present in the old snapshot (inA), the
// new one (inB) or both.
func appendChange(out []Change, kind, name string, inA, inB bool, a, b protoreflect.Message) []Change {
	c := Change{Kind: kind, Name: name}
	switch {
	case !inA && !inB:
		return out
	case !inA:
		c.Op = OpAdded
	case !inB:
		c.Op = OpRemoved
	default:
		c.Op = OpChanged
	}
	c.Fields = diffFields(nil, a, b, "")
	if c.Op == OpChanged && len(c.Fields) == 0 && proto.Equal(a.Interface(), b.Interface()) {
		return out
	}
	return append(out, c)
}

// diffFields appends the fields of a and b (messages of one type) that
// differ, descending into sub-messages other than durations.
func diffFields(out []FieldChange, a, b protoreflect.Message, prefix string) []FieldChange {
	enc := &tomlEncoder{lenient: true}
	fields := a.Descriptor().Fields()
	for i := 0; i < fields.Len(); i++ {
		fd := fields.Get(i)
		ha, hb := a.Has(fd), b.Has(fd)
		if !ha && !hb {
			continue
		}
		path := joinPath(prefix, string(fd.Name()))
		if !fd.IsList() && !fd.IsMap() && isTableMessage(fd) {
			n := len(out)
			out = diffFields(out, a.Get(fd).Message(), b.Get(fd).Message(), path)
			if len(out) == n && ha != hb { // set but empty on one side only
				out = append(out, FieldChange{Path: path, From: presence(ha), To: presence(hb)})
			}
			continue
		}
		var from, to string
		if ha {
			from = enc.value(fd, a.Get(fd), path)
		}
		if hb {
			to = enc.value(fd, b.Get(fd), path)
		}
		if from == to {
			continue
		}
		if secret(fd) {
			from, to = redact(from), redact(to)
		}
		out = append(out, FieldChange{Path: path, From: from, To: to})
	}
	return out
}

func presence(set bool) string {
	if set {
		return "{}"
	}
	return ""
}

func redact(s string) string {
	if s == "" {
		return ""
	}
	return redactedText
}

// FormatDiff renders changes as text, one object per line with its fields
// below it:
//
//	~ locations.api
//	    path: "/api" -> "/v2"
//	+ upstreams.new
//	    addrs = ["10.0.0.1:80"]
//	- servers.old
//
// Unset values show as (unset). No changes give "".
func FormatDiff(changes []Change) string {
	var b strings.Builder
	for _, c := range changes {
		name := c.Kind
		if c.Name != "" || c.Kind != "settings" {
			name = joinPath(c.Kind, pathKey(c.Name))
		}
		switch c.Op {
		case OpAdded:
			b.WriteString("+ " + name + "\n")
			for _, f := range c.Fields {
				b.WriteString("    " + f.Path + " = " + f.To + "\n")
			}
		case OpRemoved:
			b.WriteString("- " + name + "\n")
		default:
			b.WriteString("~ " + name + "\n")
			for _, f := range c.Fields {
				b.WriteString("    " + f.Path + ": " + orUnset(f.From) + " -> " + orUnset(f.To) + "\n")
			}
		}
	}
	return b.String()
}

func orUnset(s string) string {
	if s == "" {
		return "(unset)"
	}
	return s
}

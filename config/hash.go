package config

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	pb "github.com/pingap-go/pingap/gen/pingap/v1"
)

// Hash returns the canonical content hash of a snapshot, "sha256:<hex>": the
// SHA-256 of its deterministic protobuf encoding. The same content gives the
// same hash whatever the order of keys and sections in the file it came
// from; an empty sub-message (such as an empty [settings] section) counts as
// absent, while a duration set to zero does not (it overrides a default).
//
// A snapshot that Validate accepts always marshals. One that does not
// (strings that are not valid UTF-8) is hashed with those strings repaired
// and a distinct prefix in the hashed data, so it never collides with a
// valid snapshot's hash.
func Hash(s *pb.Snapshot) string {
	c := cleanClone(s)
	opts := proto.MarshalOptions{Deterministic: true}
	data, err := opts.Marshal(c.Interface())
	h := sha256.New()
	if err != nil {
		repairUTF8(c)
		data, _ = opts.Marshal(c.Interface())
		h.Write([]byte("pingap:invalid-utf8\x00"))
	}
	h.Write(data)
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

// dropEmpty clears singular sub-messages that are empty, except durations,
// recursively.
func dropEmpty(m protoreflect.Message) {
	for fd, v := range populated(m) {
		if fd.Kind() != protoreflect.MessageKind && fd.Kind() != protoreflect.GroupKind {
			continue
		}
		switch {
		case fd.IsMap():
			v.Map().Range(func(_ protoreflect.MapKey, ev protoreflect.Value) bool {
				dropEmpty(ev.Message())
				return true
			})
		case fd.IsList():
			for i := 0; i < v.List().Len(); i++ {
				dropEmpty(v.List().Get(i).Message())
			}
		case fd.Message().FullName() != durationName:
			dropEmpty(v.Message())
			if proto.Size(v.Message().Interface()) == 0 {
				m.Clear(fd)
			}
		}
	}
}

// populated returns the populated fields of m; unlike Range, the caller may
// change m while it iterates over the result.
func populated(m protoreflect.Message) map[protoreflect.FieldDescriptor]protoreflect.Value {
	out := make(map[protoreflect.FieldDescriptor]protoreflect.Value)
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		out[fd] = v
		return true
	})
	return out
}

// repairUTF8 replaces invalid UTF-8 in every string of m.
func repairUTF8(m protoreflect.Message) {
	fix := func(s string) string { return strings.ToValidUTF8(s, "\uFFFD") }
	for fd, v := range populated(m) {
		switch {
		case fd.IsMap():
			mp := v.Map()
			var keys []protoreflect.MapKey
			mp.Range(func(k protoreflect.MapKey, ev protoreflect.Value) bool {
				keys = append(keys, k)
				if fd.MapValue().Kind() == protoreflect.MessageKind {
					repairUTF8(ev.Message())
				}
				return true
			})
			if fd.MapKey().Kind() == protoreflect.StringKind {
				for _, k := range keys {
					if fixed := fix(k.String()); fixed != k.String() {
						ev := mp.Get(k)
						mp.Clear(k)
						mp.Set(protoreflect.ValueOfString(fixed).MapKey(), ev)
					}
				}
			}
		case fd.IsList():
			l := v.List()
			for i := 0; i < l.Len(); i++ {
				switch fd.Kind() {
				case protoreflect.StringKind:
					l.Set(i, protoreflect.ValueOfString(fix(l.Get(i).String())))
				case protoreflect.MessageKind:
					repairUTF8(l.Get(i).Message())
				}
			}
		case fd.Kind() == protoreflect.StringKind:
			m.Set(fd, protoreflect.ValueOfString(fix(v.String())))
		case fd.Kind() == protoreflect.MessageKind:
			repairUTF8(v.Message())
		}
	}
}

// Summary is the one-line description of a valid snapshot that `pingap
// validate` and `pingapctl validate` print: its object counts and hash.
func Summary(s *pb.Snapshot) string {
	return fmt.Sprintf("%d servers, %d locations, %d upstreams, %d plugins, %d certificates (%s)",
		len(s.GetServers()), len(s.GetLocations()), len(s.GetUpstreams()), len(s.GetPlugins()),
		len(s.GetCertificates()), Hash(s))
}

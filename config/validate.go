package config

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/durationpb"

	pb "github.com/pingap-go/pingap/gen/pingap/v1"
)

// maxNameLen is the longest object name accepted, in characters.
const maxNameLen = 128

// Validate checks a whole snapshot: object names, every value's syntax,
// references between objects, listen addresses used twice and certificate
// pairs. It returns nil or an ErrorList with every problem found, each
// carrying its line from src (src may be nil: no lines).
//
// Validate reads no network; it reads the PEM files that certificates,
// upstreams' ca_cert and jwt plugins' public_key name by path, and nothing
// else.
func Validate(s *pb.Snapshot, src *Source) error {
	v := &validator{src: src, s: s}
	v.run()
	return v.errs.result()
}

// ValidateBytes decodes and validates a configuration. It returns the
// snapshot when it is valid, or nil and an ErrorList with the decode and
// validation problems. Validation problems that only repeat a decode error
// (under the same path) are left out; after a syntax error only the syntax
// error and the decode errors before it are reported.
func ValidateBytes(data []byte, f Format) (*pb.Snapshot, error) {
	s, src, err := Decode(data, f)
	if err := Check(s, src, err); err != nil {
		return nil, err
	}
	return s, nil
}

// Load reads, decodes and validates the configuration file at path, whose
// format is chosen by FormatFromPath. Errors name the file; decode and
// validation errors wrap an ErrorList (use errors.As).
func Load(path string) (*pb.Snapshot, *Source, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("config: %w", err)
	}
	s, src, err := Decode(data, FormatFromPath(path))
	if err := Check(s, src, err); err != nil {
		var l ErrorList
		if errors.As(err, &l) && len(l) > 1 {
			return nil, src, fmt.Errorf("config %s: %d errors:\n%w", path, len(l), err)
		}
		return nil, src, fmt.Errorf("config %s: %w", path, err)
	}
	return s, src, nil
}

// Check validates a decoded snapshot and merges in the decode errors of
// decodeErr (from Decode or Merge; nil when there were none),
// leaving out validation errors that only repeat a decode error. It returns
// nil or an ErrorList; after a syntax error only the decode errors are
// reported. A decodeErr that is not an ErrorList is returned as is.
func Check(s *pb.Snapshot, src *Source, decodeErr error) error {
	var errs ErrorList
	if decodeErr != nil {
		var dl ErrorList
		if !errors.As(decodeErr, &dl) {
			return decodeErr
		}
		errs = append(errs, dl...)
		for _, e := range errs {
			if e.Path == "" { // syntax error: the snapshot is a fragment
				return errs.result()
			}
		}
	}
	var vl ErrorList
	if err := Validate(s, src); errors.As(err, &vl) {
		for _, e := range vl {
			if !coveredBy(e.Path, errs) {
				errs = append(errs, e)
			}
		}
	}
	return errs.result()
}

// coveredBy reports whether a decode error was reported at path or a parent.
func coveredBy(path string, errs ErrorList) bool {
	for _, e := range errs {
		if path == e.Path || strings.HasPrefix(path, e.Path+".") || strings.HasPrefix(path, e.Path+"[") {
			return true
		}
	}
	return false
}

// validator collects the problems of one snapshot.
type validator struct {
	src  *Source
	s    *pb.Snapshot
	errs ErrorList
	// The object names of each section, sorted: what references may name.
	servers, locations, upstreams, plugins, certificates []string
}

// fail records a problem at path, with the line of path or its closest
// known parent.
func (v *validator) fail(path, format string, args ...any) {
	fe := errorf(path, v.src.lineOf(path), format, args...)
	fe.File = v.src.fileOf(path)
	v.errs = append(v.errs, fe)
}

func (v *validator) run() {
	if v.s == nil {
		return
	}
	v.servers = slices.Sorted(maps.Keys(v.s.GetServers()))
	v.locations = slices.Sorted(maps.Keys(v.s.GetLocations()))
	v.upstreams = slices.Sorted(maps.Keys(v.s.GetUpstreams()))
	v.plugins = slices.Sorted(maps.Keys(v.s.GetPlugins()))
	v.certificates = slices.Sorted(maps.Keys(v.s.GetCertificates()))
	v.walk(v.s.ProtoReflect(), "")
	v.names("servers", v.servers)
	v.names("locations", v.locations)
	v.names("upstreams", v.upstreams)
	v.names("plugins", v.plugins)
	v.names("certificates", v.certificates)
	v.settings(v.s.GetSettings())
	v.checkServers()
	for _, name := range v.locations {
		v.location(ObjectPath("locations", name), v.s.GetLocations()[name])
	}
	for _, name := range v.upstreams {
		v.upstream(ObjectPath("upstreams", name), v.s.GetUpstreams()[name])
	}
	for _, name := range v.plugins {
		v.plugin(ObjectPath("plugins", name), v.s.GetPlugins()[name])
	}
	v.checkCertificates()
}

// walk checks what the schema's types leave open in any message: durations
// must be valid and not negative, strings valid UTF-8.
func (v *validator) walk(m protoreflect.Message, path string) {
	if m.Descriptor().FullName() == durationName {
		d := m.Interface().(*durationpb.Duration)
		if err := d.CheckValid(); err != nil {
			v.fail(path, "invalid duration: %v", err)
		} else if d.AsDuration() < 0 {
			v.fail(path, "invalid duration %s: negative", d.AsDuration())
		}
		return
	}
	m.Range(func(fd protoreflect.FieldDescriptor, val protoreflect.Value) bool {
		p := joinPath(path, string(fd.Name()))
		switch {
		case fd.IsMap():
			val.Map().Range(func(k protoreflect.MapKey, ev protoreflect.Value) bool {
				v.walkValue(fd.MapValue(), ev, joinPath(p, pathKey(k.String())))
				return true
			})
		case fd.IsList():
			l := val.List()
			for i := 0; i < l.Len(); i++ {
				v.walkValue(fd, l.Get(i), indexPath(p, i))
			}
		default:
			v.walkValue(fd, val, p)
		}
		return true
	})
}

func (v *validator) walkValue(fd protoreflect.FieldDescriptor, val protoreflect.Value, path string) {
	switch fd.Kind() {
	case protoreflect.MessageKind, protoreflect.GroupKind:
		v.walk(val.Message(), path)
	case protoreflect.StringKind:
		if !utf8.ValidString(val.String()) {
			v.fail(path, "invalid UTF-8")
		}
	}
}

// names checks the object names of one section.
func (v *validator) names(section string, names []string) {
	for _, name := range names {
		p := joinPath(section, pathKey(name))
		switch {
		case name == "":
			v.fail(p, "invalid name: empty")
		case !utf8.ValidString(name):
			v.fail(p, "invalid name: not valid UTF-8")
		case utf8.RuneCountInString(name) > maxNameLen:
			v.fail(p, "invalid name: longer than %d characters", maxNameLen)
		case strings.IndexFunc(name, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0:
			v.fail(p, "invalid name: contains whitespace or control characters")
		}
	}
}

// logLevels are the accepted settings.log_level values.
var logLevels = map[string]bool{"": true, "debug": true, "info": true, "warn": true, "error": true}

func (v *validator) settings(s *pb.Settings) {
	for i, tp := range s.GetTrustedProxies() {
		if _, err := ParseIPPrefix(tp); err != nil {
			v.fail(indexPath("settings.trusted_proxies", i), "invalid trusted proxy %q: want an IP address or a CIDR such as \"10.0.0.0/8\"", tp)
		}
	}
	if a := s.GetAdminAddr(); a != "" {
		addrs, err := ParseListenAddrs(a)
		switch {
		case err != nil:
			v.fail("settings.admin_addr", "%v", err)
		case len(addrs) != 1:
			v.fail("settings.admin_addr", "want a single listen address, got %d", len(addrs))
		}
	}
	if !logLevels[s.GetLogLevel()] {
		v.fail("settings.log_level", "unknown log level %q: want debug, info, warn or error", s.GetLogLevel())
	}
	v.accessLogOutput(s.GetAccessLog())
	if t := s.GetTracing(); t != nil {
		v.tracing(t)
	}
}

// tracing checks settings.tracing.
func (v *validator) tracing(t *pb.Tracing) {
	if t.GetOtlpExporter() == "" {
		v.fail("settings.tracing.otlp_exporter", "required: the OTLP collector's host:port or URL")
	} else if _, err := ParseOTLPEndpoint(t.GetOtlpExporter(), "", t.GetTls()); err != nil {
		v.fail("settings.tracing.otlp_exporter", "%v", err)
	}
	if p := t.GetProtocol(); p != "" && p != "grpc" && p != "http" {
		v.fail("settings.tracing.protocol", "%q is neither grpc nor http", p)
	}
	if t.SampleRatio != nil && !(t.GetSampleRatio() >= 0 && t.GetSampleRatio() <= 1) {
		v.fail("settings.tracing.sample_ratio", "%v is not between 0 and 1", t.GetSampleRatio())
	}
	for i, h := range t.GetHeaders() {
		if _, err := ParseHeader(h); err != nil {
			v.fail(indexPath("settings.tracing.headers", i), "%v", err)
		}
	}
}

// reference checks a list of names that must exist in objects: no unknown
// name, no name twice.
func (v *validator) reference(path, kind string, names []string, objects []string) {
	seen := make(map[string]int, len(names))
	for i, n := range names {
		p := indexPath(path, i)
		if first, ok := seen[n]; ok {
			v.fail(p, "%s %q is listed twice (also at index %d)", kind, n, first)
			continue
		}
		seen[n] = i
		if !contains(objects, n) {
			v.fail(p, "unknown %s %q%s", kind, n, suggestName(n, objects))
		}
	}
}

func contains(sorted []string, s string) bool {
	i := sort.SearchStrings(sorted, s)
	return i < len(sorted) && sorted[i] == s
}

// suggestName returns ` (did you mean "x"?)` for the closest of names, or
// "" when none is close: within len(name)/2+1 edits, and at most 3.
func suggestName(name string, names []string) string {
	return suggestWithin(name, names, min(len(name)/2+1, 3))
}

// suggestWithin returns ` (did you mean "x"?)` for the first of names at the
// smallest edit distance from name, if that is at most maxDist; else "".
func suggestWithin(name string, names []string, maxDist int) string {
	best, bestDist := "", maxDist
	for _, n := range names {
		if d := editDistance(name, n); d <= bestDist {
			best, bestDist = n, d-1
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

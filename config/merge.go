package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"google.golang.org/protobuf/reflect/protoreflect"

	pb "github.com/pingap-go/pingap/gen/pingap/v1"
)

// This file merges a configuration split over several files (a directory of
// TOML files, say, one per concern) into one snapshot. Every object
// ("upstreams.api") must be defined in one file only; the fields of
// [settings] may be spread over files, each field in one file only. The
// merged Source remembers the file of every object, so Validate's errors
// name the file as well as the line.

// Input is one configuration document to merge.
type Input struct {
	// Name identifies the document in errors: a file path, or "-" for
	// standard input.
	Name string
	// Data is the document's content.
	Data []byte
	// Format is the document's encoding.
	Format Format
}

// ReadPaths reads the documents at paths: a file as is (its format chosen by
// FormatFromPath), a directory as its *.toml and *.json files in name order
// (not recursively; names starting with "." are skipped). A path given twice
// is read once. It fails when a path cannot be read or a directory holds no
// configuration file.
func ReadPaths(paths ...string) ([]Input, error) {
	var files []string
	seen := make(map[string]bool)
	add := func(p string) {
		if c := filepath.Clean(p); !seen[c] {
			seen[c] = true
			files = append(files, p)
		}
	}
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("config: %w", err)
		}
		if !fi.IsDir() {
			add(p)
			continue
		}
		found, err := configFiles(p)
		if err != nil {
			return nil, err
		}
		for _, f := range found {
			add(f)
		}
	}
	inputs := make([]Input, 0, len(files))
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("config: %w", err)
		}
		inputs = append(inputs, Input{Name: f, Data: data, Format: FormatFromPath(f)})
	}
	return inputs, nil
}

// configFiles lists the *.toml and *.json files of dir, sorted by name.
func configFiles(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	var out []string
	for _, e := range entries {
		name := e.Name()
		ext := strings.ToLower(filepath.Ext(name))
		if strings.HasPrefix(name, ".") || (ext != ".toml" && ext != ".json") || e.Type()&fs.ModeType&^fs.ModeSymlink != 0 {
			continue
		}
		out = append(out, filepath.Join(dir, name))
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("config: no *.toml or *.json files in directory %s", dir)
	}
	sort.Strings(out)
	return out, nil
}

// Merge decodes every input and merges them into one snapshot. An object
// defined in two inputs, or a settings field set in two, is an error at the
// second definition naming the first one's file and line; the first
// definition is kept. Every error names its input (FieldError.File), and so
// do the errors of a later Validate with the returned Source.
//
// Like Decode, the returned Snapshot and Source are never nil and the error
// is nil or an ErrorList.
func Merge(inputs ...Input) (*pb.Snapshot, *Source, error) {
	m := &merger{out: &pb.Snapshot{}, src: &Source{}, from: make(map[string]origin)}
	for _, in := range inputs {
		s, src, err := Decode(in.Data, in.Format)
		var list ErrorList
		if errors.As(err, &list) {
			for _, e := range list {
				e.File = in.Name
				m.errs = append(m.errs, e)
			}
		}
		m.add(in.Name, s, src)
	}
	return m.out, m.src, m.errs.result()
}

// origin is where an object or settings field was first defined.
type origin struct {
	file string
	line int
}

func (o origin) String() string {
	if o.line > 0 {
		return fmt.Sprintf("%s (line %d)", o.file, o.line)
	}
	return o.file
}

// merger accumulates the merged snapshot.
type merger struct {
	out  *pb.Snapshot
	src  *Source
	from map[string]origin // object or settings field path -> first definition
	errs ErrorList
}

// add merges the snapshot s, decoded from file with lines src.
func (m *merger) add(file string, s *pb.Snapshot, src *Source) {
	out := m.out.ProtoReflect()
	var taken []string // paths whose lines and file come from this input
	s.ProtoReflect().Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		section := string(fd.Name())
		switch {
		case fd.IsMap():
			dst := out.Mutable(fd).Map()
			for _, k := range mapKeys(v.Map()) {
				path := joinPath(section, pathKey(k))
				if m.claim(path, file, src) {
					mk := protoreflect.ValueOfString(k).MapKey()
					dst.Set(mk, v.Map().Get(mk))
					taken = append(taken, path)
				}
			}
		case fd.Kind() == protoreflect.MessageKind && !fd.IsList():
			dst := out.Mutable(fd).Message()
			v.Message().Range(func(sf protoreflect.FieldDescriptor, sv protoreflect.Value) bool {
				path := joinPath(section, string(sf.Name()))
				if m.claim(path, file, src) {
					dst.Set(sf, sv)
					taken = append(taken, path)
				}
				return true
			})
			if src.Line(section) > 0 {
				m.src.set(section, src.Line(section))
			}
		default: // a top-level scalar or list: not in today's schema
			path := section
			if m.claim(path, file, src) {
				out.Set(fd, v)
				taken = append(taken, path)
			}
		}
		return true
	})
	m.copyLines(src, taken)
}

// claim records the definition of path in file, or reports it as defined
// twice and returns false.
func (m *merger) claim(path, file string, src *Source) bool {
	here := origin{file: file, line: src.Line(path)}
	if first, ok := m.from[path]; ok {
		fe := errorf(path, here.line, "defined twice: also in %s", first)
		fe.File = file
		m.errs = append(m.errs, fe)
		return false
	}
	m.from[path] = here
	m.src.SetFile(path, file)
	return true
}

// copyLines copies the lines of the paths at or under taken from src.
func (m *merger) copyLines(src *Source, taken []string) {
	if src == nil || len(taken) == 0 {
		return
	}
	mine := make(map[string]bool, len(taken))
	for _, p := range taken {
		mine[p] = true
	}
	for path, line := range src.lines {
		ends := segmentEnds(path)
		if len(ends) < 2 {
			continue // a section header: recorded with its section
		}
		if mine[path[:ends[1]]] {
			m.src.set(path, line)
		}
	}
}

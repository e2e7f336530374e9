package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	pb "github.com/pingap-go/pingap/gen/pingap/v1"
)

// writeConfigDir writes files (name -> content) into a new directory.
func writeConfigDir(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, data := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

const (
	mergeUpstreams = "[upstreams.api]\naddrs = [\"127.0.0.1:8080\"]\n\n[upstreams.web]\naddrs = [\"127.0.0.1:8081\"]\n"
	mergeLocations = "[locations.api]\npath = \"/api\"\nupstream = \"api\"\n\n[locations.web]\npath = \"/\"\nupstream = \"web\"\n"
	mergeServers   = "[settings]\nname = \"edge\"\n\n[servers.main]\naddr = \"127.0.0.1:0\"\nlocations = [\"api\", \"web\"]\n"
)

// readAndMerge reads the config files of dir and merges them.
func readAndMerge(t *testing.T, dir string) (*pb.Snapshot, *Source, error) {
	t.Helper()
	inputs, err := ReadPaths(dir)
	if err != nil {
		t.Fatal(err)
	}
	return Merge(inputs...)
}

func TestMergeADirectory(t *testing.T) {
	t.Parallel()
	dir := writeConfigDir(t, map[string]string{
		"upstreams.toml": mergeUpstreams, "locations.toml": mergeLocations, "servers.toml": mergeServers,
		"README.md": "not config", ".hidden.toml": "not = valid [",
	})
	s, src, err := readAndMerge(t, dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := Check(s, src, nil); err != nil {
		t.Fatalf("merged config invalid: %v", err)
	}
	if len(s.GetUpstreams()) != 2 || len(s.GetLocations()) != 2 || len(s.GetServers()) != 1 || s.GetSettings().GetName() != "edge" {
		t.Fatalf("merged snapshot %v", s)
	}
	// The same content in one file hashes the same.
	one, err := ValidateBytes([]byte(mergeUpstreams+"\n"+mergeLocations+"\n"+mergeServers), FormatTOML)
	if err != nil {
		t.Fatal(err)
	}
	if Hash(one) != Hash(s) {
		t.Errorf("merged hash %s, one file %s", Hash(s), Hash(one))
	}
	if got := src.Line("locations.web.upstream"); got != 7 {
		t.Errorf("line of locations.web.upstream = %d, want 7 (its line in locations.toml)", got)
	}
}

func TestMergeErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc  string
		files map[string]string
		want  []string // substrings of the error, in order of the rendered list
		check bool     // run Check (validation) on the merged snapshot
	}{
		{
			desc: "object defined in two files",
			files: map[string]string{
				"a.toml": mergeUpstreams,
				"b.toml": "# more\n\n[upstreams.api]\naddrs = [\"127.0.0.1:9090\"]\n",
			},
			want: []string{"b.toml: upstreams.api (line 3): defined twice: also in ", "a.toml (line 1)"},
		},
		{
			desc: "settings field set in two files",
			files: map[string]string{
				"a.toml": "[settings]\nname = \"a\"\nlog_level = \"info\"\n",
				"b.toml": "[settings]\nlog_level = \"warn\"\n",
			},
			want: []string{"b.toml: settings.log_level (line 2): defined twice: also in ", "a.toml (line 3)"},
		},
		{
			desc: "validation error in the second file names it and its line",
			files: map[string]string{
				"1-upstreams.toml": mergeUpstreams,
				"2-locations.toml": "[locations.api]\npath = \"/api\"\nupstream = \"apii\"\n",
			},
			want:  []string{`2-locations.toml: locations.api.upstream (line 3): unknown upstream "apii" (did you mean "api"?)`},
			check: true,
		},
		{
			desc: "decode error names its file",
			files: map[string]string{
				"a.toml": mergeUpstreams,
				"b.toml": "[upstreams.x]\naddrs = [\"127.0.0.1:1\"]\nalgoo = \"rr\"\n",
			},
			want: []string{`b.toml: upstreams.x.algoo (line 3): unknown field "algoo" (did you mean "algo"?)`},
		},
		{
			desc: "syntax error names its file",
			files: map[string]string{
				"a.toml": mergeUpstreams,
				"b.toml": "[upstreams.x\n",
			},
			want: []string{"b.toml: line 1: toml syntax error"},
		},
		{
			desc: "json and toml merge; a json duplicate names the toml file",
			files: map[string]string{
				"a.toml": mergeUpstreams,
				"b.json": `{"upstreams": {"web": {"addrs": ["127.0.0.1:1"]}}}`,
			},
			want: []string{"b.json: upstreams.web: defined twice: also in ", "a.toml (line 4)"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			dir := writeConfigDir(t, tc.files)
			s, src, err := readAndMerge(t, dir)
			if tc.check {
				if err != nil {
					t.Fatalf("Merge: %v", err)
				}
				err = Check(s, src, err)
			}
			var list ErrorList
			if !errors.As(err, &list) {
				t.Fatalf("error %v, want an ErrorList", err)
			}
			msg := err.Error()
			pos := 0
			for _, w := range tc.want {
				i := strings.Index(msg[pos:], w)
				if i < 0 {
					t.Fatalf("error\n%s\ndoes not contain %q (after offset %d)", msg, w, pos)
				}
				pos += i + len(w)
			}
			if !strings.Contains(msg, dir) {
				t.Errorf("error %q does not name the files by their path", msg)
			}
		})
	}
}

func TestMergeKeepsTheFirstDefinition(t *testing.T) {
	t.Parallel()
	s, _, err := Merge(
		Input{Name: "a.toml", Data: []byte(mergeUpstreams)},
		Input{Name: "b.toml", Data: []byte("[upstreams.api]\naddrs = [\"10.0.0.1:1\"]\n[upstreams.extra]\naddrs = [\"10.0.0.2:1\"]\n")},
	)
	if err == nil {
		t.Fatal("no error for upstreams.api defined twice")
	}
	if got := s.GetUpstreams()["api"].GetAddrs(); len(got) != 1 || got[0] != "127.0.0.1:8080" {
		t.Errorf("upstreams.api.addrs = %v, want the first file's", got)
	}
	if s.GetUpstreams()["extra"] == nil {
		t.Error("upstreams.extra of the second file is missing")
	}
}

func TestReadPaths(t *testing.T) {
	t.Parallel()
	dir := writeConfigDir(t, map[string]string{"b.toml": "", "a.json": "{}", "c.txt": "", "sub/d.toml": ""})
	single := filepath.Join(dir, "b.toml")
	tests := []struct {
		desc  string
		paths []string
		want  []string // base names
		err   string
	}{
		{desc: "directory: toml and json in name order, not recursive", paths: []string{dir}, want: []string{"a.json", "b.toml"}},
		{desc: "a file and its directory: read once", paths: []string{single, dir}, want: []string{"b.toml", "a.json"}},
		{desc: "a file of any extension", paths: []string{filepath.Join(dir, "c.txt")}, want: []string{"c.txt"}},
		{desc: "missing path", paths: []string{filepath.Join(dir, "nope")}, err: "no such file"},
		{desc: "directory without config files", paths: []string{writeConfigDir(t, map[string]string{"x.md": ""})}, err: "no *.toml or *.json files"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			in, err := ReadPaths(tc.paths...)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, i := range in {
				got = append(got, filepath.Base(i.Name))
			}
			if strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Errorf("read %v, want %v", got, tc.want)
			}
			for _, i := range in {
				if want := FormatFromPath(i.Name); i.Format != want {
					t.Errorf("%s: format %v, want %v", i.Name, i.Format, want)
				}
			}
		})
	}
}

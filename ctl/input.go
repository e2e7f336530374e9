package ctl

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/pingap-go/pingap/config"
	pb "github.com/pingap-go/pingap/gen/pingap/v1"
)

// stdinName is the -f value, and the file name in errors, of standard
// input.
const stdinName = "-"

// readInputs reads the documents that -f names: files, directories of
// *.toml and *.json files, or "-" for standard input (TOML, or JSON when it
// starts with "{").
func (a *app) readInputs(paths []string) ([]config.Input, error) {
	if len(paths) == 0 {
		return nil, withCode(ExitFailure, "no config given: use -f FILE, -f DIR or -f - (standard input)")
	}
	var inputs []config.Input
	var files []string
	flush := func() error {
		if len(files) == 0 {
			return nil
		}
		in, err := config.ReadPaths(files...)
		if err != nil {
			return &ExitError{Code: ExitFailure, Err: err}
		}
		inputs, files = append(inputs, in...), nil
		return nil
	}
	stdin := false
	for _, p := range paths {
		if p != stdinName {
			files = append(files, p)
			continue
		}
		if stdin {
			return nil, withCode(ExitFailure, "-f - (standard input) given twice")
		}
		stdin = true
		if err := flush(); err != nil {
			return nil, err
		}
		data, err := io.ReadAll(a.streams.In)
		if err != nil {
			return nil, withCode(ExitFailure, "reading standard input: %w", err)
		}
		f := config.FormatTOML
		if bytes.HasPrefix(bytes.TrimSpace(data), []byte("{")) {
			f = config.FormatJSON
		}
		inputs = append(inputs, config.Input{Name: stdinName, Data: data, Format: f})
	}
	if err := flush(); err != nil {
		return nil, err
	}
	return inputs, nil
}

// loadConfig reads and merges the -f documents. Decode errors (and names
// defined twice) are printed and end the command with exit code 2. With
// validate set, the merged config is validated here too (offline).
func (a *app) loadConfig(paths []string, validate bool) (*pb.Snapshot, *config.Source, []config.Input, error) {
	inputs, err := a.readInputs(paths)
	if err != nil {
		return nil, nil, nil, err
	}
	snap, src, err := config.Merge(inputs...)
	if validate {
		err = config.Check(snap, src, err)
	}
	var list config.ErrorList
	if errors.As(err, &list) {
		return nil, nil, inputs, a.printErrors(list)
	}
	if err != nil {
		return nil, nil, inputs, err
	}
	return snap, src, inputs, nil
}

// describeInputs names what was read, for messages: "config/ (3 files)".
func describeInputs(paths []string, inputs []config.Input) string {
	name := paths[0]
	if len(paths) > 1 {
		name = fmt.Sprintf("%s and %d more", paths[0], len(paths)-1)
	}
	if name == stdinName {
		name = "standard input"
	}
	if len(inputs) != len(paths) {
		name += fmt.Sprintf(" (%d files)", len(inputs))
	}
	return name
}

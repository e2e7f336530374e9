package ctl

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/pingap-go/pingap/config"
)

// addFileFlag registers -f/--filename.
func addFileFlag(cmd *cobra.Command, files *[]string) {
	cmd.Flags().StringArrayVarP(files, "filename", "f", nil,
		"config: a .toml or .json file, a directory of them (merged), or - for standard input (repeatable)")
}

// validationJSON is `validate -o json`'s output.
type validationJSON struct {
	Valid  bool             `json:"valid"`
	Hash   string           `json:"hash,omitempty"`
	Errors config.ErrorList `json:"errors"`
}

func (a *app) validateCmd() *cobra.Command {
	var files []string
	var output string
	cmd := &cobra.Command{
		Use:   "validate -f PATH",
		Short: "Check a config offline with the same validator as the control plane and data planes",
		Long: `Check a config offline with the same validator as the control plane and data
planes: types, ranges, references between objects, regexes, addresses and the
certificate files it names (read from this machine). Every error is printed as
'file: path (line N): message'. Exit code 2 when there are errors.`,
		Example: "  pingapctl validate -f config/\n  cat pingap.toml | pingapctl validate -f -",
		Args:    cobra.NoArgs,
		RunE: func(_ *cobra.Command, _ []string) error {
			if err := checkOutput(output, outTable, outJSON); err != nil {
				return err
			}
			if output == outJSON {
				return a.validateJSON(files)
			}
			snap, _, inputs, err := a.loadConfig(files, true)
			if err != nil {
				return err
			}
			a.outf("%s: ok: %s\n", describeInputs(files, inputs), config.Summary(snap))
			return nil
		},
	}
	addFileFlag(cmd, &files)
	cmd.Flags().StringVarP(&output, "output", "o", outTable, "output: table (human) or json")
	return cmd
}

// validateJSON validates and prints the result as JSON on standard output.
func (a *app) validateJSON(files []string) error {
	inputs, err := a.readInputs(files)
	if err != nil {
		return err
	}
	snap, src, err := config.Merge(inputs...)
	err = config.Check(snap, src, err)
	out := validationJSON{Valid: err == nil, Errors: config.ErrorList{}}
	var list config.ErrorList
	switch {
	case err == nil:
		out.Hash = config.Hash(snap)
	case errors.As(err, &list):
		out.Errors = list
	default:
		return err
	}
	if werr := writeJSON(a.streams.Out, out); werr != nil {
		return werr
	}
	if !out.Valid {
		return printed(ExitInvalid, fmt.Errorf("validation failed: %d errors", len(list)))
	}
	return nil
}

package ctl

import (
	"bytes"
	"encoding/json"
	"fmt"
	"runtime"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/pingap-go/pingap/internal/version"
)

func (a *app) getCmd() *cobra.Command {
	var (
		ver    uint64
		output string
	)
	cmd := &cobra.Command{
		Use:   "get [--version N]",
		Short: "Print the cluster's current config, or version N, as TOML or JSON",
		Long: `Print the cluster's current config, or version N. TOML (the default) and JSON
(-o json, protojson with the schema's field names) can both be given back to
'pingapctl apply -f'.`,
		Example: "  pingapctl get > pingap.toml\n  pingapctl get --version 3 -o json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutput(output, outTOML, outJSON); err != nil {
				return err
			}
			c, s, err := a.client()
			if err != nil {
				return err
			}
			if output == outTOML {
				text, _, err := c.ConfigTOML(cmd.Context(), s.Cluster, ver)
				if err != nil {
					return a.failure(err, s, nil)
				}
				if len(text) > 0 && !bytes.HasSuffix(text, []byte("\n")) {
					text = append(text, '\n')
				}
				_, err = a.streams.Out.Write(text)
				return err
			}
			_, snap, err := c.Config(cmd.Context(), s.Cluster, ver)
			if err != nil {
				return a.failure(err, s, nil)
			}
			raw, err := protojson.MarshalOptions{UseProtoNames: true}.Marshal(snap)
			if err != nil {
				return fmt.Errorf("encoding the config: %w", err)
			}
			// protojson varies its whitespace on purpose; indent it stably.
			var b bytes.Buffer
			if err := json.Indent(&b, raw, "", "  "); err != nil {
				return fmt.Errorf("encoding the config: %w", err)
			}
			b.WriteByte('\n')
			_, err = a.streams.Out.Write(b.Bytes())
			return err
		},
	}
	cmd.Flags().Uint64Var(&ver, "version", 0, "the version to print (default: the current one)")
	cmd.Flags().StringVarP(&output, "output", "o", outTOML, "output: toml or json")
	return cmd
}

func (a *app) historyCmd() *cobra.Command {
	var (
		limit  int
		output string
	)
	cmd := &cobra.Command{
		Use:     "history",
		Aliases: []string{"versions"},
		Short:   "List the cluster's config versions, newest first",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutput(output, outTable, outJSON); err != nil {
				return err
			}
			if limit <= 0 {
				return withCode(ExitFailure, "--limit %d: want a positive number", limit)
			}
			c, s, err := a.client()
			if err != nil {
				return err
			}
			vs, err := c.Versions(cmd.Context(), s.Cluster, limit)
			if err != nil {
				return a.failure(err, s, nil)
			}
			if output == outJSON {
				out := struct {
					Cluster  string         `json:"cluster"`
					Versions []*versionJSON `json:"versions"`
				}{Cluster: s.Cluster, Versions: []*versionJSON{}}
				for _, v := range vs {
					out.Versions = append(out.Versions, toVersionJSON(v))
				}
				return writeJSON(a.streams.Out, out)
			}
			if len(vs) == 0 {
				a.errf("cluster %s has no version yet: apply a config with `pingapctl apply -f PATH`\n", s.Cluster)
				return nil
			}
			tw := newTable(a.streams.Out)
			_, _ = fmt.Fprintln(tw, "VERSION\tAGE\tAUTHOR\tMESSAGE\tHASH")
			now := a.now()
			for i, v := range vs {
				num := fmt.Sprint(v.GetVersion())
				if i == 0 {
					num += "*"
				}
				msg := v.GetMessage()
				if v.GetRollbackOf() > 0 && msg == "" {
					msg = fmt.Sprintf("rollback to %d", v.GetRollbackOf())
				}
				_, _ = fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", num, age(v.GetCreatedAt(), now), cell(v.GetAuthor(), 20),
					cell(msg, 60), shortHash(v.GetHash()))
			}
			return tw.Flush()
		},
	}
	cmd.Flags().IntVar(&limit, "limit", 20, "how many versions to list")
	cmd.Flags().StringVarP(&output, "output", "o", outTable, "output: table (human; * marks the current version) or json")
	return cmd
}

func (a *app) versionCmd() *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print pingapctl's version",
		Args:  cobra.NoArgs,
		RunE: func(_ *cobra.Command, _ []string) error {
			if err := checkOutput(output, outTable, outJSON); err != nil {
				return err
			}
			if output == outJSON {
				return writeJSON(a.streams.Out, map[string]string{
					"version": version.Version, "go": runtime.Version(), "platform": runtime.GOOS + "/" + runtime.GOARCH,
				})
			}
			a.outf("pingapctl %s (%s %s/%s)\n", version.Version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
			return nil
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", outTable, "output: table (human) or json")
	return cmd
}

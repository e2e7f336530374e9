// Package config is the one configuration front end shared by the data
// plane, the control plane and the CLI: it decodes TOML (Pingap's section and
// field names, with every key's line kept) and JSON (protojson) into the
// pingap.v1 Snapshot, validates a whole snapshot at once (types, ranges,
// references between objects, regexes, addresses, certificates) with errors
// that name the object, the field and the line, and computes the canonical
// content hash that identifies a config version. It also holds the parsers of
// the schema's small string syntaxes, so every component reads them alike.
package config

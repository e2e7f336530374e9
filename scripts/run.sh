#!/usr/bin/env bash
# `make run-file`: starts demo backends and a standalone data plane on examples/quickstart.toml.
set -euo pipefail
cd "$(dirname "$0")/.."
CONFIG="${CONFIG:-examples/quickstart.toml}"
go build -o bin/testbackend ./cmd/testbackend
bin/testbackend --listen 127.0.0.1:9001,127.0.0.1:9002 --name api >/dev/null &
bin/testbackend --listen 127.0.0.1:9003 --name web >/dev/null &
trap 'kill $(jobs -p) 2>/dev/null || true' EXIT
cat <<MSG

  Pingap-Go data plane on http://127.0.0.1:8080 (config: $CONFIG, reloads on save)

  curl -i http://127.0.0.1:8080/api/hello     # rewritten to /hello, round robin 1:2 over 9001/9002 (see X-Backend)
  curl -i http://127.0.0.1:8080/              # the "web" upstream on 9003
  curl -s http://127.0.0.1:6100/status        # running config hash, last reload
  bin/pingap validate $CONFIG                 # check a config without running it

  Ctrl-C stops everything.

MSG
bin/pingap dataplane --config "$CONFIG"

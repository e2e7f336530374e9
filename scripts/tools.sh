#!/usr/bin/env bash
# Installs the pinned developer tools into ./bin. Idempotent: a tool is
# rebuilt only when its pinned version changes. Usage: scripts/tools.sh [tool...]
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="$PWD/bin"
mkdir -p "$BIN"

# tool name -> module@version (keep in sync with docs/development.md)
declare -A TOOLS=(
  [buf]="github.com/bufbuild/buf/cmd/buf@v1.75.0"
  [protoc-gen-go]="google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12"
  [protoc-gen-go-grpc]="google.golang.org/grpc/cmd/protoc-gen-go-grpc@v1.6.0"
  [golangci-lint]="github.com/golangci/golangci-lint/v2/cmd/golangci-lint@v2.15.0"
)

want=("$@")
if [ ${#want[@]} -eq 0 ]; then want=("${!TOOLS[@]}"); fi
for t in "${want[@]}"; do
  pkg="${TOOLS[$t]:?unknown tool $t}"
  stamp="$BIN/.$t.version"
  if [ -x "$BIN/$t" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$pkg" ]; then
    continue
  fi
  echo "installing $pkg" >&2
  GOBIN="$BIN" GOFLAGS=-mod=mod go install "$pkg"
  echo "$pkg" > "$stamp"
done

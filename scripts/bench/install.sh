#!/usr/bin/env bash
# Installs the tools of the side-by-side proxy benchmark from Debian packages,
# only those that are missing: nginx, haproxy, wrk, h2load (nghttp2-client),
# taskset (util-linux) and openssl. Idempotent and quiet; runs `apt-get update`
# only when something has to be installed. Prints the versions it finds.
#
# Usage: scripts/bench/install.sh [--versions-only]
set -euo pipefail

# command -> Debian package
declare -A pkg_of=(
  [nginx]=nginx
  [haproxy]=haproxy
  [wrk]=wrk
  [h2load]=nghttp2-client
  [taskset]=util-linux
  [openssl]=openssl
)

missing=()
if [[ "${1:-}" != "--versions-only" ]]; then
  for cmd in "${!pkg_of[@]}"; do
    # nginx and haproxy live in /usr/sbin, which may not be on a user's PATH.
    if ! command -v "$cmd" >/dev/null 2>&1 && [[ ! -x "/usr/sbin/$cmd" ]]; then
      missing+=("${pkg_of[$cmd]}")
    fi
  done
fi

if ((${#missing[@]} > 0)); then
  mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
  sudo=()
  if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null 2>&1 || { echo "install.sh: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
    sudo=(sudo)
  fi
  echo "install.sh: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -qq >/dev/null 2>&1 || "${sudo[@]}" apt-get update -qq >/dev/null
  # The nginx package starts a system-wide nginx on port 80 on install; the
  # benchmark runs its own instance, so keep services from starting.
  policy_rc=/usr/sbin/policy-rc.d
  made_policy=0
  if [[ ! -e $policy_rc ]]; then
    printf '#!/bin/sh\nexit 101\n' | "${sudo[@]}" tee "$policy_rc" >/dev/null
    "${sudo[@]}" chmod 755 "$policy_rc"
    made_policy=1
  fi
  log=$(mktemp)
  status=0
  "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >"$log" 2>&1 || status=$?
  if ((made_policy)); then "${sudo[@]}" rm -f "$policy_rc"; fi
  if ((status != 0)); then
    cat "$log" >&2
    rm -f "$log"
    echo "install.sh: apt-get install failed ($status)" >&2
    exit "$status"
  fi
  rm -f "$log"
fi

PATH="$PATH:/usr/sbin:/sbin"
ver() { "$@" 2>&1 | head -n1 || true; }
echo "nginx:   $(ver nginx -v | sed 's/^nginx version: //')"
echo "haproxy: $(ver haproxy -v | sed 's/^HAProxy version \([^ ]*\).*/\1/')"
echo "wrk:     $(ver wrk -v | sed 's/^\(wrk [^ ]*\).*/\1/')"
echo "h2load:  $(ver h2load --version)"
echo "taskset: $(ver taskset --version)"
echo "openssl: $(ver openssl version)"

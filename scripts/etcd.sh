#!/usr/bin/env bash
# Makes sure an etcd server binary is installed and prints its path.
#
# The fleet tests (test/fleet) run one control plane against an external
# etcd server process; this installs Debian's etcd-server package when no
# `etcd` is on PATH. Idempotent and quiet: with etcd present it only prints
# the path; `apt-get update` runs only when the package is not known yet.
# Needs root (or sudo) for the install. Exit status 1 with the reason on
# stderr when etcd cannot be made available.
set -euo pipefail

find_etcd() {
	command -v etcd 2>/dev/null || { [[ -x /usr/bin/etcd ]] && echo /usr/bin/etcd; } || true
}

path=$(find_etcd)
if [[ -n "$path" ]]; then
	echo "$path"
	exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
	echo "etcd.sh: etcd is not installed and apt-get is not available: install etcd (3.4 or later) by hand" >&2
	exit 1
fi
sudo=()
if [[ $(id -u) -ne 0 ]]; then
	if ! command -v sudo >/dev/null 2>&1; then
		echo "etcd.sh: etcd is not installed, and installing etcd-server needs root (no sudo here)" >&2
		exit 1
	fi
	sudo=(sudo -n)
fi

log=$(mktemp)
trap 'rm -f "$log"' EXIT
export DEBIAN_FRONTEND=noninteractive
# The package's service is not wanted (the tests start their own servers
# on free ports), so keep its maintainer scripts from starting it.
policy=/usr/sbin/policy-rc.d
added_policy=""
if [[ ! -e $policy ]]; then
	if printf '#!/bin/sh\nexit 101\n' | "${sudo[@]}" tee "$policy" >/dev/null 2>&1 && "${sudo[@]}" chmod +x "$policy"; then
		added_policy=1
	fi
fi
cleanup() {
	[[ -n $added_policy ]] && "${sudo[@]}" rm -f "$policy"
	rm -f "$log"
}
trap cleanup EXIT

if ! apt-cache show etcd-server >/dev/null 2>&1; then
	if ! "${sudo[@]}" apt-get update -qq >"$log" 2>&1; then
		echo "etcd.sh: apt-get update failed:" >&2
		cat "$log" >&2
		exit 1
	fi
fi
if ! "${sudo[@]}" apt-get install -y -qq --no-install-recommends etcd-server >"$log" 2>&1; then
	echo "etcd.sh: apt-get install etcd-server failed:" >&2
	cat "$log" >&2
	exit 1
fi

path=$(find_etcd)
if [[ -z "$path" ]]; then
	echo "etcd.sh: etcd-server installed but no etcd binary found" >&2
	exit 1
fi
echo "$path"

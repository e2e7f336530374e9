#!/usr/bin/env bash
# CI job of a Pingap-Go config repository, for any CI system.
#
#   ci.sh pr      on a pull request: validate the config offline, then show
#                 what applying it would change in the cluster
#   ci.sh merge   on merge to the main branch: apply it and wait until every
#                 connected data plane runs it
#
# Connection settings come from the environment: PINGAP_SERVER (the admin
# API URL), PINGAP_TOKEN (a read token is enough for pr, merge needs an admin
# token), PINGAP_CLUSTER (default "default"), PINGAP_CA (CA file for https).
# Optional: CONFIG_DIR (default config, relative to this script), PINGAPCTL
# (the pingapctl binary, default from PATH), COMMIT (the version message,
# default the last commit's hash and subject), WAIT_TIMEOUT (default 120s).
#
# The exit code is pingapctl's: 0 ok, 1 error, 2 the config is invalid,
# 3 conflict, 4 the fleet did not converge (a node rejected the version or
# the wait timed out).
set -euo pipefail

mode=${1:-}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$here"
config_dir=${CONFIG_DIR:-config}
pingapctl=${PINGAPCTL:-pingapctl}

case "$mode" in
pr)
	"$pingapctl" validate -f "$config_dir/"
	diff_out=$("$pingapctl" diff -f "$config_dir/")
	if [ -n "$diff_out" ]; then
		printf 'Applying this change would do:\n%s\n' "$diff_out"
	fi
	# On GitHub Actions, show the diff on the run's summary page too.
	if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then
		{
			echo '### pingapctl diff'
			echo '```diff'
			if [ -n "$diff_out" ]; then printf '%s\n' "$diff_out"; else echo '(no changes)'; fi
			echo '```'
		} >>"$GITHUB_STEP_SUMMARY"
	fi
	;;
merge)
	if [ -z "${COMMIT:-}" ]; then
		COMMIT=$(git log -1 --format='%h %s' 2>/dev/null || echo "applied by ci.sh")
	fi
	"$pingapctl" apply -f "$config_dir/" --message "$COMMIT" --wait --timeout "${WAIT_TIMEOUT:-120s}"
	;;
*)
	echo "usage: $0 pr|merge" >&2
	exit 1
	;;
esac

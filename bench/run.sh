#!/usr/bin/env bash
# The one command: install the compared tools if needed, install this checkout of meshdev into
# the same throwaway venv, and run every figure. Usage: bash bench/run.sh [--quick]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
[ -x "$here/.tools/venv/bin/python" ] || bash "$here/install_tools.sh"
"$here/.tools/venv/bin/pip" install -q --no-deps --force-reinstall "$here/.." 2>/dev/null
# A small working folder (`python -c` lists its cwd at every start) outside any git work tree:
# meshdev honours the .gitignore files of an enclosing repository, and this one ignores .tools/.
work="$(mktemp -d "${TMPDIR:-/tmp}/meshdev-bench.XXXXXX")"
trap 'rm -rf "$work"' EXIT
cd "$work"
BENCH_TMP="$work" TMPDIR="$work" "$here/.tools/venv/bin/python" "$here/run.py" "$@"

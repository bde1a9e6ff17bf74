#!/usr/bin/env bash
# Install the tools meshdev is compared with into bench/.tools/ (a throwaway folder, git-ignored),
# at pinned versions, plus meshdev itself, all on one interpreter so every tool pays the same
# interpreter start. Usage: bash bench/install_tools.sh
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
tools="$here/.tools"
mkdir -p "$tools"
python3 -m venv "$tools/venv"
"$tools/venv/bin/pip" install -q "$here/.." \
  watchfiles==1.3.0 hupper==1.12.1 uvicorn==0.54.0 \
  numpy==2.2.6 pydantic==2.14.3 httpx==0.28.1 mcp==2.3.0 mcpmon==1.0.1
if command -v npm >/dev/null 2>&1; then
  npm install --silent --no-audit --no-fund --prefix "$tools/node" nodemon@3.1.14 >/dev/null
else
  echo "npm not found: nodemon is left out of the comparison" >&2
fi
echo "tools installed in $tools"

#!/usr/bin/env bash
# Prints the path of a Python interpreter that has every reference engine the benchmarks compare
# against: PyPI ncnn and onnxruntime (pinned, SHA-256 checked, requirements.txt) in a virtual
# environment under the cache, made with Debian's own python3 and --system-site-packages so that
# Debian's python3-torch is visible too. Creates it on first use (apt packages included); later
# calls only print the path. Every `reframe bench` that needs a reference calls this.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
VENV=${REFRAME_BENCH_VENV:-$HOME/.cache/reframe/bench-venv}
stamp="$VENV/.requirements-sha256"
want=$(sha256sum "$here/requirements.txt" | cut -d' ' -f1)
if [ -x "$VENV/bin/python" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then echo "$VENV/bin/python"; exit 0; fi
missing=()
for p in python3-venv python3-torch python3-numpy python3-pip; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  echo "bench env: installing ${missing[*]}" >&2
  DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
rm -rf "$VENV"
/usr/bin/python3 -m venv --system-site-packages "$VENV" >&2
# --no-deps: numpy and torch come from Debian, so nothing replaces the numpy torch was built for.
"$VENV/bin/pip" install --quiet --no-deps --require-hashes -r "$here/requirements.txt" >&2
"$VENV/bin/python" -c "import ncnn, onnxruntime, torch" >&2
echo "$want" > "$stamp"
echo "$VENV/bin/python"

#!/usr/bin/env bash
# Checks compose/docker-compose.yml and compose/k8s/*.yaml against their schemas without a
# container engine or a cluster (scripts/deploy-checks/validate.py says what is checked).
# The tools are the wheels pinned by SHA-256 in scripts/deploy-checks/requirements.txt, installed
# once into a cache folder named by that file's hash (so a changed pin installs afresh).
#   scripts/deploy-checks.sh           # install if needed, then check
#   scripts/deploy-checks.sh install   # install only (scripts/setup.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
REQUIREMENTS=scripts/deploy-checks/requirements.txt
DIGEST=$(sha256sum "$REQUIREMENTS" | cut -c1-16)
TOOLS=${REFRAME_DEPLOY_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/reframe/deploy-checks-$DIGEST}
if [ ! -f "$TOOLS/.installed" ]; then
  rm -rf "$TOOLS.partial"
  python3 -m pip install --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
    --require-hashes --target "$TOOLS.partial" -r "$REQUIREMENTS"
  touch "$TOOLS.partial/.installed"
  rm -rf "$TOOLS" && mv "$TOOLS.partial" "$TOOLS"
fi
[ "${1:-}" = install ] && exit 0
REFRAME_DEPLOY_TOOLS=$TOOLS PYTHONPATH=$TOOLS exec python3 scripts/deploy-checks/validate.py

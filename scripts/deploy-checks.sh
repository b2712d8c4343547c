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
# shellcheck source=lib/pinned-wheels.sh
. scripts/lib/pinned-wheels.sh
pinned_wheels "$REQUIREMENTS" deploy-checks "${REFRAME_DEPLOY_TOOLS:-}"
TOOLS=$PINNED_WHEELS
[ "${1:-}" = install ] && exit 0
REFRAME_DEPLOY_TOOLS=$TOOLS PYTHONPATH=$TOOLS exec python3 scripts/deploy-checks/validate.py

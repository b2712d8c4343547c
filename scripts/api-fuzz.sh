#!/usr/bin/env bash
# Fuzzes the running HTTP API against its contract (Libraries/API/openapi.yaml) with schemathesis:
# generated valid and invalid requests for every operation, failing on any 5xx answer, any status,
# header, content type or body the contract does not describe, a method outside the contract not
# answered with 405, a request without its token not refused. (Not checked: that every request the
# schema allows is accepted, as the contract cannot say all of a job spec's or a path's rules.)
# The tools are the wheels pinned by SHA-256 in scripts/api-fuzz/requirements.txt, installed once
# into a cache folder named by that file's hash (as scripts/deploy-checks.sh does).
#   scripts/api-fuzz.sh install                  # install only (scripts/setup.sh)
#   scripts/api-fuzz.sh BASE_URL TOKEN [ARGS…]   # fuzz; extra ARGS go to `schemathesis run`
# REFRAME_FUZZ_EXAMPLES (default 100) bounds the generated cases per operation and phase;
# REFRAME_FUZZ_SEED (default 1) makes a run repeatable (set another to explore further);
# REFRAME_FUZZ_CHECKS replaces the list of checks (e.g. `all`).
set -euo pipefail
cd "$(dirname "$0")/.."
REQUIREMENTS=scripts/api-fuzz/requirements.txt
# shellcheck source=lib/pinned-wheels.sh
. scripts/lib/pinned-wheels.sh
pinned_wheels "$REQUIREMENTS" api-fuzz "${REFRAME_FUZZ_TOOLS:-}"
TOOLS=$PINNED_WHEELS
[ "${1:-}" = install ] && exit 0
[ $# -ge 2 ] || { echo "usage: $0 install | BASE_URL TOKEN [schemathesis run arguments]" >&2; exit 2; }
URL=$1 TOKEN=$2
shift 2
# REFRAME_FUZZ_JOB_ID: a job of the token's tenant, used as every `{id}` (a generated id is only ever
# a 404, which leaves the job operations untested).
CONTRACT=$PWD/Libraries/API/openapi.yaml
# schemathesis and hypothesis keep caches in the working directory: a private one, not the repo.
WORK=$(mktemp -d /tmp/reframe-fuzz-XXXXXX)
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"
CONFIG=()
if [ -n "${REFRAME_FUZZ_JOB_ID:-}" ]; then
  printf '[parameters]\n"path.id" = "%s"\n' "$REFRAME_FUZZ_JOB_ID" > schemathesis.toml
  CONFIG=(--config-file schemathesis.toml)
fi
# The stateful phase needs links between operations, which the contract does not declare.
PYTHONPATH=$TOOLS python3 -m schemathesis.cli "${CONFIG[@]}" run "$CONTRACT" \
  --url "$URL" --header "Authorization: Bearer $TOKEN" \
  --checks "${REFRAME_FUZZ_CHECKS:-not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,response_headers_conformance,unsupported_method,missing_required_header,ignored_auth,use_after_free,ensure_resource_availability}" \
  --phases examples,coverage,fuzzing --max-examples "${REFRAME_FUZZ_EXAMPLES:-100}" --seed "${REFRAME_FUZZ_SEED:-1}" \
  --workers 1 --request-timeout 10 --generation-database none --no-color --output-truncate false "$@"

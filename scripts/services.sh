#!/usr/bin/env bash
# Starts (or stops) a private RabbitMQ and Redis on loopback for tests and local runs.
# Everything lives under $REFRAME_RUN_DIR (default /tmp/reframe-services): data, logs, pids.
# Ports are private so a system broker or store on the default ports is never touched.
#   scripts/services.sh start   # prints the env lines to eval
#   scripts/services.sh stop
set -euo pipefail
RUN_DIR=${REFRAME_RUN_DIR:-/tmp/reframe-services}
AMQP_PORT=${REFRAME_AMQP_PORT:-25672}
REDIS_PORT=${REFRAME_REDIS_PORT:-26379}
NODE=reframe-$AMQP_PORT@localhost
RMQ=/usr/lib/rabbitmq/bin

rabbit_env() {
  export HOME="$RUN_DIR/rabbit-home"
  export RABBITMQ_NODENAME="$NODE" RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 RABBITMQ_NODE_PORT="$AMQP_PORT"
  export RABBITMQ_DIST_PORT=$((AMQP_PORT + 20000)) ERL_EPMD_PORT=$((AMQP_PORT + 1000))
  export RABBITMQ_MNESIA_BASE="$RUN_DIR/rabbit-mnesia" RABBITMQ_LOG_BASE="$RUN_DIR/rabbit-log"
  export RABBITMQ_PID_FILE="$RUN_DIR/rabbit.pid" RABBITMQ_ENABLED_PLUGINS_FILE="$RUN_DIR/enabled_plugins"
  export RABBITMQ_CONFIG_FILE="$RUN_DIR/rabbitmq" RABBITMQ_ADVANCED_CONFIG_FILE="$RUN_DIR/advanced.config"
  export RABBITMQ_CONF_ENV_FILE="$RUN_DIR/rabbitmq-env.conf"
  # Erlang writes crash dumps to its working directory (the repository) unless told otherwise.
  export ERL_CRASH_DUMP="$RUN_DIR/erl_crash.dump"
}

start() {
  mkdir -p "$RUN_DIR/rabbit-home" "$RUN_DIR/redis"
  rabbit_env
  echo "[]." > "$RABBITMQ_ENABLED_PLUGINS_FILE"
  : > "$RABBITMQ_CONF_ENV_FILE"
  # loopback_users = none lets guest connect over 127.0.0.1 only (listener is loopback-bound).
  cat > "$RUN_DIR/rabbitmq.conf" <<CONF
listeners.tcp.default = 127.0.0.1:$AMQP_PORT
loopback_users = none
heartbeat = 30
vm_memory_high_watermark.relative = 0.3
disk_free_limit.absolute = 200MB
CONF
  echo "[]." > "$RABBITMQ_ADVANCED_CONFIG_FILE"
  if ! "$RMQ/rabbitmqctl" -q -n "$NODE" status >/dev/null 2>&1; then
    nohup "$RMQ/rabbitmq-server" > "$RUN_DIR/rabbit.out" 2>&1 &
  fi
  redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --daemonize yes --dir "$RUN_DIR/redis" \
    --pidfile "$RUN_DIR/redis.pid" --logfile "$RUN_DIR/redis.log" --appendonly yes \
    --maxmemory "${REFRAME_REDIS_MAXMEMORY:-2gb}" --maxmemory-policy noeviction --save "" >/dev/null
  # The node registers with epmd a moment after launch; await_startup fails until then.
  local ok=0
  for _ in $(seq 120); do
    if "$RMQ/rabbitmqctl" -q -n "$NODE" await_startup --timeout 60 >/dev/null 2>&1; then ok=1; break; fi
    sleep 1
  done
  [ "$ok" = 1 ] || { echo "RabbitMQ did not start; see $RUN_DIR/rabbit.out" >&2; tail -20 "$RUN_DIR/rabbit.out" >&2; exit 1; }
  for _ in $(seq 50); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
  echo "export REFRAME_AMQP_URL=amqp://guest:guest@127.0.0.1:$AMQP_PORT/"
  echo "export REFRAME_REDIS_URL=redis://127.0.0.1:$REDIS_PORT/0"
}

stop() {
  rabbit_env
  "$RMQ/rabbitmqctl" -q -n "$NODE" stop >/dev/null 2>&1 || true
  redis-cli -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
  pkill -f "epmd.*-port $ERL_EPMD_PORT" 2>/dev/null || true
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac

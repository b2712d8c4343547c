#!/usr/bin/env bash
# Starts (or stops) a private RabbitMQ and Redis on loopback for tests and local runs.
# Everything lives under $REFRAME_RUN_DIR (default /tmp/reframe-services): data, logs, pids.
# Ports are private so a system broker or store on the default ports is never touched, and every
# listener (AMQP, Erlang distribution, epmd, Redis) is bound to 127.0.0.1. REFRAME_BIND_ADDRESS
# moves the AMQP and Redis listeners to another address (the multi-host test's broker host, inside a
# network namespace); epmd and Erlang distribution stay on that host's loopback.
#   scripts/services.sh start           # prints the env lines to eval
#   scripts/services.sh stop            # stops the broker, store, epmd and any service a test left
#   scripts/services.sh restart-redis   # Redis shut down (AOF flushed) and started again on its port
#   scripts/services.sh restart-rabbit  # the whole RabbitMQ node (Erlang VM) stopped and started again
#   scripts/services.sh ctl ARGS...     # rabbitmqctl ARGS against the private node (e.g. list_connections)
set -euo pipefail
RUN_DIR=${REFRAME_RUN_DIR:-/tmp/reframe-services}
AMQP_PORT=${REFRAME_AMQP_PORT:-25672}
REDIS_PORT=${REFRAME_REDIS_PORT:-26379}
NODE=reframe-$AMQP_PORT@localhost
RMQ=/usr/lib/rabbitmq/bin
# Service processes started by tests record "<name>" in $SERVICES_DIR/<pid> (see ServiceCluster).
SERVICES_DIR=$RUN_DIR/services
BIND=${REFRAME_BIND_ADDRESS:-127.0.0.1}

rabbit_env() {
  export HOME="$RUN_DIR/rabbit-home"
  export RABBITMQ_NODENAME="$NODE" RABBITMQ_NODE_IP_ADDRESS="$BIND" RABBITMQ_NODE_PORT="$AMQP_PORT"
  export RABBITMQ_DIST_PORT=$((AMQP_PORT + 20000)) ERL_EPMD_PORT=$((AMQP_PORT + 1000))
  # epmd and the distribution listeners (the node's and each rabbitmqctl's) on loopback only.
  export ERL_EPMD_ADDRESS=127.0.0.1
  export RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
  export RABBITMQ_CTL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
  export RABBITMQ_MNESIA_BASE="$RUN_DIR/rabbit-mnesia" RABBITMQ_LOG_BASE="$RUN_DIR/rabbit-log"
  export RABBITMQ_PID_FILE="$RUN_DIR/rabbit.pid" RABBITMQ_ENABLED_PLUGINS_FILE="$RUN_DIR/enabled_plugins"
  export RABBITMQ_CONFIG_FILE="$RUN_DIR/rabbitmq" RABBITMQ_ADVANCED_CONFIG_FILE="$RUN_DIR/advanced.config"
  export RABBITMQ_CONF_ENV_FILE="$RUN_DIR/rabbitmq-env.conf"
  # Erlang writes crash dumps to its working directory (the repository) unless told otherwise.
  export ERL_CRASH_DUMP="$RUN_DIR/erl_crash.dump"
}

alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

# Waits up to $2 seconds for the process in pid file $1 to exit; then kills it.
await_exit() {
  local pidfile=$1 seconds=$2
  [ -f "$pidfile" ] || return 0
  local pid; pid=$(cat "$pidfile")
  for _ in $(seq $((seconds * 10))); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
}

start_epmd() {
  # Our own epmd, started before the node so the node does not start one (as a daemon, untracked).
  if ! alive "$RUN_DIR/epmd.pid"; then
    nohup epmd -port "$ERL_EPMD_PORT" -address 127.0.0.1 > "$RUN_DIR/epmd.out" 2>&1 &
    echo $! > "$RUN_DIR/epmd.pid"
    for _ in $(seq 50); do epmd -port "$ERL_EPMD_PORT" -names >/dev/null 2>&1 && break; sleep 0.1; done
  fi
}

start_rabbit() {
  if ! "$RMQ/rabbitmqctl" -q -n "$NODE" status >/dev/null 2>&1; then
    nohup "$RMQ/rabbitmq-server" > "$RUN_DIR/rabbit.out" 2>&1 &
  fi
  # The node registers with epmd a moment after launch; await_startup fails until then.
  local ok=0
  for _ in $(seq 120); do
    if "$RMQ/rabbitmqctl" -q -n "$NODE" await_startup --timeout 60 >/dev/null 2>&1; then ok=1; break; fi
    sleep 1
  done
  [ "$ok" = 1 ] || { echo "RabbitMQ did not start; see $RUN_DIR/rabbit.out" >&2; tail -20 "$RUN_DIR/rabbit.out" >&2; exit 1; }
}

stop_rabbit() {
  # With the pid file, rabbitmqctl stop returns once the Erlang VM has exited. Only while our epmd
  # lives: without it rabbitmqctl cannot find the node, starts an untracked `epmd -daemon` of its
  # own and was seen to hang for minutes; then (or if it takes too long) the VM is stopped by pid.
  if alive "$RUN_DIR/epmd.pid"; then
    timeout 60 "$RMQ/rabbitmqctl" -q -n "$NODE" stop "$RABBITMQ_PID_FILE" >/dev/null 2>&1 || true
  fi
  if alive "$RABBITMQ_PID_FILE"; then kill -TERM "$(cat "$RABBITMQ_PID_FILE")" 2>/dev/null || true; fi
  await_exit "$RABBITMQ_PID_FILE" 30
}

start_redis() {
  # Protected mode refuses every client from another address while there is no password; a
  # non-loopback BIND is a test host's private address, reachable only from its own network.
  local protected=yes
  [ "$BIND" = 127.0.0.1 ] || protected=no
  redis-server --bind "$BIND" --protected-mode "$protected" --port "$REDIS_PORT" --daemonize yes --dir "$RUN_DIR/redis" \
    --pidfile "$RUN_DIR/redis.pid" --logfile "$RUN_DIR/redis.log" --appendonly yes \
    --maxmemory "${REFRAME_REDIS_MAXMEMORY:-2gb}" --maxmemory-policy noeviction --save "" >/dev/null
  # PING answers LOADING while the AOF is read back, so wait for a real PONG.
  for _ in $(seq 100); do [ "$(redis-cli -h "$BIND" -p "$REDIS_PORT" ping 2>/dev/null)" = PONG ] && break; sleep 0.1; done
}

stop_redis() {
  # SHUTDOWN flushes and fsyncs the AOF even with NOSAVE (no RDB snapshot).
  redis-cli -h "$BIND" -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
  await_exit "$RUN_DIR/redis.pid" 10
}

# Stops service processes a test started and could not stop itself (it crashed or was killed).
stop_services() {
  [ -d "$SERVICES_DIR" ] || return 0
  local f pid name
  for f in "$SERVICES_DIR"/*; do
    [ -e "$f" ] || continue
    pid=$(basename "$f"); name=$(cat "$f")
    # Only a process that is still that service: pids are reused.
    if [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "${name:0:15}" ]; then kill -TERM "$pid" 2>/dev/null || true; fi
  done
  sleep 1
  for f in "$SERVICES_DIR"/*; do
    [ -e "$f" ] || continue
    pid=$(basename "$f"); name=$(cat "$f")
    if [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "${name:0:15}" ]; then kill -KILL "$pid" 2>/dev/null || true; fi
    rm -f "$f"
  done
}

start() {
  mkdir -p "$RUN_DIR/rabbit-home" "$RUN_DIR/redis" "$SERVICES_DIR"
  rabbit_env
  echo "[]." > "$RABBITMQ_ENABLED_PLUGINS_FILE"
  : > "$RABBITMQ_CONF_ENV_FILE"
  # loopback_users = none lets guest connect through the one listener: loopback, or the private
  # address of a test's own network namespace, which nothing outside the test can reach.
  cat > "$RUN_DIR/rabbitmq.conf" <<CONF
listeners.tcp.default = $BIND:$AMQP_PORT
loopback_users = none
heartbeat = 30
vm_memory_high_watermark.relative = 0.3
disk_free_limit.absolute = 200MB
CONF
  echo "[]." > "$RABBITMQ_ADVANCED_CONFIG_FILE"
  start_epmd
  start_rabbit
  start_redis
  echo "export REFRAME_AMQP_URL=amqp://guest:guest@$BIND:$AMQP_PORT/"
  echo "export REFRAME_REDIS_URL=redis://$BIND:$REDIS_PORT/0"
}

# A multi-host test's virtual LAN (Harness/VirtualLAN.swift) records itself in $RUN_DIR/lan-*:
# `broker.env` (how to reach its broker host's services.sh) and `namespaces`. A test that crashed
# leaves it here; its broker and store are stopped inside their namespace, then the namespaces go.
stop_lans() {
  local lan ns
  for lan in "$RUN_DIR"/lan-*; do
    [ -d "$lan" ] || continue
    if [ -f "$lan/broker.env" ]; then
      # shellcheck disable=SC2046
      ip netns exec "$(cat "$lan/broker-namespace")" env $(cat "$lan/broker.env") "$0" stop || true
    fi
    if [ -f "$lan/namespaces" ]; then
      while read -r ns || [ -n "$ns" ]; do [ -n "$ns" ] && { ip netns del "$ns" 2>/dev/null || true; }; done < "$lan/namespaces"
    fi
    rm -rf "$lan"
  done
}

stop() {
  rabbit_env
  stop_services
  stop_lans
  stop_rabbit
  stop_redis
  if alive "$RUN_DIR/epmd.pid"; then kill "$(cat "$RUN_DIR/epmd.pid")" 2>/dev/null || true; fi
  await_exit "$RUN_DIR/epmd.pid" 5
  rm -f "$RUN_DIR/epmd.pid"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  restart-redis) stop_redis; start_redis ;;
  stop-redis) stop_redis ;;
  start-redis) start_redis ;;
  restart-rabbit) rabbit_env; stop_rabbit; start_epmd; start_rabbit ;;
  ctl) rabbit_env; shift; exec "$RMQ/rabbitmqctl" -q -n "$NODE" "$@" ;;
  *) echo "usage: $0 start|stop|restart-redis|stop-redis|start-redis|restart-rabbit|ctl ARGS..." >&2; exit 2 ;;
esac

#!/usr/bin/env bash
# A cluster of control-plane nodes on 127.0.0.1, for trying failover and rolling restarts:
#
#   deploy/local/cluster.sh start N [--jdbc-url URL] [--base-port P] [--runners R]
#   deploy/local/cluster.sh status      one line per node: index pid http-port state
#   deploy/local/cluster.sh stop
#   deploy/local/cluster.sh restart I   node I leaves gracefully, starts again, and is ready
#
# Node i serves HTTP on P+i-1 (default P = 8081), Akka remoting on P+100+i-1 and Akka Management
# (bootstrap, probes) on P+200+i-1; the nodes find each other by cluster bootstrap with config
# discovery. They share one PostgreSQL: the embedded one in a process of its own on P+300, or the
# database at --jdbc-url (OFFLOAD_DB_USER / OFFLOAD_DB_PASSWORD), migrated before the nodes start.
# Runners do not live in a node (killing a node must not kill them): a runner host process serves
# R of them (default 6) through the static provider. JAVA_OPTS and OFFLOAD_* variables reach every
# node. Logs and data are under deploy/local/logs/ (OFFLOAD_LOCAL_CLUSTER_DIR to move them); the
# operator token is in its operator-token file unless OFFLOAD_OPERATOR_TOKEN is set.
set -euo pipefail

home="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
dir="${OFFLOAD_LOCAL_CLUSTER_DIR:-$home/deploy/local/logs}"
state="$dir/cluster.state"
ready_timeout="${OFFLOAD_LOCAL_CLUSTER_TIMEOUT:-180}"

usage() {
  echo "usage: cluster.sh start N [--jdbc-url URL] [--base-port P] [--runners R] | status | stop | restart I" >&2
  exit 2
}

alive() { [ -n "$1" ] && kill -0 "$1" 2>/dev/null; }

# Lines of the state file: kind index pid port (kind: postgres, runners, node).
entries() { [ -f "$state" ] && grep "^$1 " "$state" || true; }

ready() { curl -sf -o /dev/null --max-time 2 "http://127.0.0.1:$1/health/ready"; }

wait_for() { # what, seconds, command...
  local what="$1" seconds="$2"; shift 2
  local deadline=$((SECONDS + seconds))
  until "$@"; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      echo "cluster.sh: $what did not happen within ${seconds}s" >&2
      return 1
    fi
    sleep 0.5
  done
}

stop_pid() { # pid, seconds before SIGKILL
  local pid="$1" grace="$2"
  alive "$pid" || return 0
  kill -TERM "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + grace))
  while alive "$pid" && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.2; done
  if alive "$pid"; then kill -KILL "$pid" 2>/dev/null || true; fi
}

stop_all() {
  [ -f "$state" ] || { echo "no cluster is running (no $state)"; return 0; }
  # Nodes first, one at a time and the first started last: each leaves the cluster and hands its
  # shards and singletons to nodes that stay up long enough to take them.
  while read -r _ _ pid _; do stop_pid "$pid" 40; done < <(entries node | sort -k2,2nr)
  while read -r _ _ pid _; do stop_pid "$pid" 20; done < <(entries runners)
  while read -r _ _ pid _; do stop_pid "$pid" 30; done < <(entries postgres)
  rm -f "$state"
  echo "stopped"
}

status() {
  [ -f "$state" ] || { echo "no cluster is running (no $state)"; return 0; }
  while read -r _ index pid port; do
    local s=stopped
    if alive "$pid"; then
      if ready "$port"; then s=ready; else s=starting; fi
    fi
    echo "$index $pid $port $s"
  done < <(entries node)
}

start() {
  [ $# -ge 1 ] && [[ "$1" =~ ^[1-9][0-9]*$ ]] || usage
  local n="$1"; shift
  local jdbc_url="" base=8081 runners=6
  while [ $# -gt 0 ]; do
    case "$1" in
      --jdbc-url) [ $# -ge 2 ] || usage; jdbc_url="$2"; shift 2 ;;
      --base-port) [ $# -ge 2 ] && [[ "$2" =~ ^[0-9]+$ ]] || usage; base="$2"; shift 2 ;;
      --runners) [ $# -ge 2 ] && [[ "$2" =~ ^[1-9][0-9]*$ ]] || usage; runners="$2"; shift 2 ;;
      *) usage ;;
    esac
  done
  command -v curl >/dev/null || { echo "cluster.sh needs curl" >&2; exit 1; }
  if [ -f "$state" ]; then
    while read -r _ _ pid _; do
      if alive "$pid"; then echo "a cluster is already running here; cluster.sh stop first" >&2; exit 1; fi
    done < "$state"
    rm -f "$state"
  fi
  mkdir -p "$dir"
  trap 'echo "cluster.sh: start failed; logs are in $dir" >&2; stop_all >/dev/null' ERR

  local token="${OFFLOAD_OPERATOR_TOKEN:-}"
  if [ -z "$token" ]; then
    [ -s "$dir/operator-token" ] || (umask 077; od -An -tx1 -N24 /dev/urandom | tr -d ' \n' > "$dir/operator-token")
    token="$(cat "$dir/operator-token")"
  fi

  # The database first; it also builds the jar when the sources changed, once, before the others.
  local db_conf
  if [ -z "$jdbc_url" ]; then
    local pg_port=$((base + 300))
    OFFLOAD_DATA_DIR="$dir/postgres" OFFLOAD_DB_URL="" OFFLOAD_DB_EMBEDDED_PORT="$pg_port" \
      nohup "$home/bin/offload-server" postgres > "$dir/postgres.log" 2>&1 &
    echo "postgres 0 $! $pg_port" >> "$state"
    wait_for "the embedded PostgreSQL" "$ready_timeout" grep -q "PostgreSQL is ready" "$dir/postgres.log"
    db_conf="offload.db { url = \"jdbc:postgresql://127.0.0.1:$pg_port/postgres\", user = postgres, password = \"\" }"
  else
    OFFLOAD_DB_URL="$jdbc_url" "$home/bin/offload-server" migrate > "$dir/migrate.log" 2>&1
    db_conf="offload.db.url = \"$jdbc_url\""
  fi

  rm -f "$dir/runner-host/runners.conf"
  nohup "$home/bin/offload-runner-host" --dir "$dir/runner-host" --runners "$runners" \
    > "$dir/runner-host.log" 2>&1 &
  echo "runners 0 $! 0" >> "$state"
  wait_for "the runner host" 60 test -s "$dir/runner-host/runners.conf"

  local endpoints="" i
  for i in $(seq 1 "$n"); do
    endpoints="$endpoints{ host = \"127.0.0.1\", port = $((base + 200 + i - 1)) }, "
  done
  for i in $(seq 1 "$n"); do
    local conf="$dir/node-$i.conf"
    cat > "$conf" <<CONF
# Written by deploy/local/cluster.sh for node $i of $n.
include file("$home/conf/application.conf")
include file("$dir/runner-host/runners.conf")
$db_conf
offload.auth.operator-token = "$token"
offload.http.port = $((base + i - 1))
offload.cluster.join-self = off
offload.cluster.required-contact-points = $n
akka.remote.artery.canonical.port = $((base + 100 + i - 1))
akka.management.http.port = $((base + 200 + i - 1))
akka.discovery.config.services.offload.endpoints = [ ${endpoints%, } ]
CONF
    OFFLOAD_CONFIG="$conf" OFFLOAD_DATA_DIR="$dir/node-$i" \
      nohup "$home/bin/offload-server" > "$dir/node-$i.log" 2>&1 &
    echo "node $i $! $((base + i - 1))" >> "$state"
  done
  while read -r _ index pid port; do
    wait_for "node $index ready on port $port" "$ready_timeout" ready "$port"
  done < <(entries node)
  trap - ERR
  status
  echo "operator token in $dir/operator-token; logs in $dir"
}

# One node of a running cluster, as a rolling restart does it: leave (shards, singletons and
# tunnels handed over), start again with the same configuration, wait until it is ready.
restart() {
  [ $# -eq 1 ] && [[ "$1" =~ ^[1-9][0-9]*$ ]] || usage
  local line
  line="$(entries node | awk -v i="$1" '$2 == i')"
  [ -n "$line" ] || { echo "no node $1 in $state" >&2; exit 1; }
  local pid port
  pid="$(echo "$line" | awk '{print $3}')"
  port="$(echo "$line" | awk '{print $4}')"
  stop_pid "$pid" 40
  OFFLOAD_CONFIG="$dir/node-$1.conf" OFFLOAD_DATA_DIR="$dir/node-$1" \
    nohup "$home/bin/offload-server" >> "$dir/node-$1.log" 2>&1 &
  local started=$!
  sed -i "s/^node $1 $pid $port\$/node $1 $started $port/" "$state"
  wait_for "node $1 ready on port $port" "$ready_timeout" ready "$port"
  echo "$1 $started $port ready"
}

case "${1:-}" in
  start) shift; start "$@" ;;
  restart) shift; restart "$@" ;;
  status) status ;;
  stop) stop_all ;;
  *) usage ;;
esac

#!/usr/bin/env bash
# Benchmarks of quality.md, on loopback only, each against its baseline in the same run:
#   P1  session lifecycle events the product's journal persists per second, BENCH_JOURNAL_WRITERS
#       (1000) sessions writing back to back, ÷ one-row insert transactions/s of a plain JDBC loop
#       (20 connections), alternately on one embedded PostgreSQL in a JVM of its own
#   P2  full session lifecycles per second on one node (warm pool of BENCH_POOL local runners)
#   P4  GET /v1/sessions/{id} at a constant BENCH_GET_RATE req/s: p99 latency from the due time
#   P10 ledger lag (event → ledger row) under the P2 load, from the node's histogram
#   P6  bulk throughput through Offload's full tunnel ÷ OpenSSH `ssh -L` (defaults), same run
#   P7  1-byte round-trip latency added by Offload ÷ latency added by `ssh -L`
#   P8  events the billing audit replays per second ÷ rows per second of a plain JDBC scan
#       (its own JVM and embedded PostgreSQL; BENCH_AUDIT_SESSIONS, default 25000)
#   P3  `bin/offload start --detach` → the session reported active, warm pool: wall time seen by
#       the client, next to `bin/offload --version` (its start-up) and POST → active (the server's
#       part), BENCH_P3_STARTS (20) starts per round, against the same node as P1/P2/P4/P10
#   P5  scale curve of one node: live sessions at BENCH_SCALE_STEPS (1000,2000,5000,10000): heap
#       used after GC, threads, GET p99 at BENCH_SCALE_GET_RATE (200 req/s); a node of its own with
#       static runners over a few SSH servers of bin/offload-runner-host
#
#   gatling  the Gatling session-lifecycle simulation (load-tests/gatling) against the same node,
#            then against a 3-node local cluster (deploy/local/cluster.sh), side by side
#
#   load-tests/run.sh [p1|p2|p3|p4|p5|p6|p7|p8|p10|gatling|all]...     (default: all)
#
# P2, P4 and P10 run against one node of their own (bin/offload-server, fresh data dir,
# embedded PostgreSQL): BENCH_POOL (200), BENCH_WORKERS (100), BENCH_SECONDS (60 per round),
# BENCH_GET_RATE (2000), BENCH_GATLING_USERS (50), BENCH_GATLING_SECONDS (60), BENCH_GATLING_CLUSTER
# (1; 0 skips the 3-node run), BENCH_ROUNDS (3), BENCH_WARMUP_SECONDS (10). P1: BENCH_JOURNAL_WRITERS,
# BENCH_JOURNAL_SECONDS (10 per side and round). BENCH_RESULTS replaces the results directory.
# P5: BENCH_SCALE_STEPS, BENCH_SCALE_GET_RATE (200), BENCH_SCALE_GET_SECONDS (15, after
# BENCH_SCALE_GET_WARMUP, 5, not counted),
# BENCH_SCALE_SETTLE (10 s), BENCH_SCALE_PARALLEL (16 creations at a time), BENCH_SCALE_WARM (100
# runners kept warm above the live ones), BENCH_SCALE_SSH_SERVERS (4), BENCH_SCALE_HEALTH_INTERVAL (60s),
# BENCH_SCALE_MAX_SECONDS (420, so that `all` stays within 30 minutes: the ramp stops there and the curve ends at the last step reached).
#
# It starts, in a temporary directory: the benchmark JVM with its TCP echo server, a control-plane
# node (bin/offload-server, fresh data dir, local runners forwarding to the echo server, no
# Docker needed), a session with a detached bridge (bin/offload start --detach), and a user-run
# OpenSSH sshd with `ssh -N -L` to the same echo server; then it measures the three paths (direct,
# ssh -L, Offload) alternately and writes results.md, raw.csv and the logs to
# load-tests/results/<UTC date-time>/. Everything it started is stopped on exit, even on failure.
#
# Settings (environment): BENCH_ROUNDS (3), BENCH_BULK_MIB (256), BENCH_ROUND_TIMEOUT (12 s),
# BENCH_PINGS (2000), BENCH_WARMUP (200), BENCH_SERVER_JAVA_OPTS (added to the node's JAVA_OPTS,
# e.g. a JFR recording: -XX:StartFlightRecording=filename=<file>,settings=profile),
# BENCH_RUNNER (local; openssh makes the user-run sshd the session's runner, a diagnostic) and
# BENCH_CLI_JAVA_OPTS (JDK_JAVA_OPTIONS of the client's JVMs, the detached bridge included).
# cpu.txt gets the CPU seconds each process tree used while measuring.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
home="$(cd "$here/.." && pwd)"

p1=false; p3=false; p5=false; p6=false; p7=false; p8=false; gatling=false; api_targets=""
[ $# -eq 0 ] && set -- all
for target in "$@"; do
  case "$target" in
    p1) p1=true ;;
    p2|p4|p10) api_targets="${api_targets:+$api_targets,}$target" ;;
    p3) p3=true ;;
    p5) p5=true ;;
    p6) p6=true ;;
    p7) p7=true ;;
    p8) p8=true ;;
    gatling) gatling=true ;;
    all) p1=true; p3=true; p5=true; p6=true; p7=true; p8=true; gatling=true; api_targets="p2,p4,p10" ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) echo "unknown target '$target': use p1, p2, p3, p4, p5, p6, p7, p8, p10, gatling or all" >&2; exit 2 ;;
  esac
done
targets=""
$p6 && targets="p6"
$p7 && targets="${targets:+$targets,}p7"

# ---- what it needs: say what is missing instead of installing it ----
missing_packages=()
missing_commands=()
sshd_bin="$(command -v sshd || true)"
[ -z "$sshd_bin" ] && [ -x /usr/sbin/sshd ] && sshd_bin=/usr/sbin/sshd
[ -z "$sshd_bin" ] && missing_packages+=(openssh-server) && missing_commands+=(sshd)
for cmd in ssh ssh-keygen; do
  command -v "$cmd" >/dev/null || { missing_commands+=("$cmd"); [[ " ${missing_packages[*]-} " == *" openssh-client "* ]] || missing_packages+=(openssh-client); }
done
command -v curl >/dev/null || { missing_commands+=(curl); missing_packages+=(curl); }
command -v java >/dev/null || { missing_commands+=(java); missing_packages+=(openjdk-17-jdk-headless); }
if [ ${#missing_commands[@]} -gt 0 ]; then
  echo "missing: ${missing_commands[*]}. Install the Debian packages: sudo apt-get install ${missing_packages[*]}" >&2
  exit 1
fi

# ---- build if needed (the server and the client also build themselves on first use) ----
jar="$here/target/offload-load-tests.jar"
jars=("$jar" "$home/modules/server/target/offload-server.jar" "$home/modules/cli/target/offload-cli.jar" "$here/gatling/target/offload-gatling.jar")
stale=false
for built in "${jars[@]}"; do
  if [ ! -f "$built" ] || [ -n "$(find "$here/src" "$here/pom.xml" "$here/gatling/src" "$here/gatling/pom.xml" "$home/modules/server/src/main" \
      "$home/modules/server/pom.xml" "$home/modules/cli/src/main" "$home/modules/cli/pom.xml" "$home/conf" \
      "$home/pom.xml" -newer "$built" -print -quit)" ]; then stale=true; fi
done
if $stale; then
  echo "Building (first run or changed sources)..." >&2
  (cd "$home" && ./mvnw -B -q -DskipTests package) >&2
  # Maven leaves a jar untouched when its classes did not change; mark all three as built from
  # these sources, so bin/offload and bin/offload-server do not build again on every call.
  touch "${jars[@]}"
fi
bench() { java -cp "$jar" dev.offload.loadtests.TunnelBenchmark "$@"; }

stamp="$(date -u +%Y-%m-%dT%H-%M-%SZ)"
results="${BENCH_RESULTS:-$here/results/$stamp}"
mkdir -p "$results"
tmp="$(mktemp -d "${TMPDIR:-/tmp}/offload-bench.XXXXXX")"
chmod 700 "$tmp"

bench_pid=""; server_pid=""; sshd_pid=""; ssh_pid=""; api_server_pid=""; cluster_started=false
scale_server_pid=""; runner_host_pid=""
cli() {
  env XDG_CONFIG_HOME="$tmp/config" HOME="$tmp/home" DOCKER_CONFIG="$tmp/docker" \
    ${BENCH_CLI_JAVA_OPTS:+"JDK_JAVA_OPTIONS=$BENCH_CLI_JAVA_OPTS"} "$home/bin/offload" "$@"
}
tree() { echo "$1"; local child; for child in $(ps -o pid= --ppid "$1" 2>/dev/null); do tree "$child"; done; }
cpu_ticks() { # user+system clock ticks of a process and its descendants
  local total=0 pid
  for pid in $(tree "$1"); do total=$((total + $(awk '{print $14 + $15}' "/proc/$pid/stat" 2>/dev/null || echo 0))); done
  echo "$total"
}
stop_pid() { # pid, seconds to wait after SIGTERM before SIGKILL
  local pid="$1" wait="${2:-10}"
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 $((wait * 10))); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
}
cleanup() {
  local status=$?
  set +e
  stop_pid "$bench_pid" 2
  if [ -f "$tmp/config/offload/bridge.pid" ]; then
    local bridge; bridge="$(cat "$tmp/config/offload/bridge.pid")"
    [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null && timeout 30 cli stop >/dev/null 2>&1
    stop_pid "$bridge" 5
  fi
  [ -f "$tmp/config/offload/bridge.log" ] && cp "$tmp/config/offload/bridge.log" "$results/bridge.log"
  stop_pid "$ssh_pid" 5
  stop_pid "$sshd_pid" 5
  stop_pid "$server_pid" 30
  stop_pid "$api_server_pid" 30
  stop_pid "$scale_server_pid" 30
  stop_pid "$runner_host_pid" 30
  $cluster_started && OFFLOAD_LOCAL_CLUSTER_DIR="$tmp/cluster" "$home/deploy/local/cluster.sh" stop >/dev/null 2>&1
  rm -rf "$tmp"
  [ $status -ne 0 ] && echo "failed (exit $status); logs in $results" >&2
  exit $status
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if $p1; then
  echo "P1: the journal under ${BENCH_JOURNAL_WRITERS:-1000} sessions against a plain insert loop (about $(( 2 * ${BENCH_JOURNAL_SECONDS:-10} * ${BENCH_ROUNDS:-3} + 30 ))s)..." >&2
  java -cp "$jar:$home/modules/server/target/offload-server.jar:$home/modules/server/target/lib/*" \
    -Dlogback.configurationFile="$home/conf/logback.xml" dev.offload.loadtests.JournalBenchmark "$results" \
    2> >(tee "$results/p1.log" >&2)
  echo >&2
fi
if $p8; then
  echo "P8: filling a journal and auditing it (about 20 s)..." >&2
  java -cp "$jar:$home/modules/server/target/offload-server.jar:$home/modules/server/target/lib/*" \
    -Dlogback.configurationFile="$home/conf/logback.xml" dev.offload.loadtests.AuditBenchmark "$results" \
    2>"$results/p8.log"
  echo >&2
fi
wait_for() { # description, seconds, pid that must stay alive (or -), command...
  local what="$1" seconds="$2" pid="$3"; shift 3
  local deadline=$((SECONDS + seconds))
  until "$@" >/dev/null 2>&1; do
    [ "$pid" != - ] && ! kill -0 "$pid" 2>/dev/null && { echo "gave up waiting for $what: its process exited" >&2; return 1; }
    [ $SECONDS -ge $deadline ] && { echo "timed out after ${seconds}s waiting for $what" >&2; return 1; }
    sleep 0.2
  done
}
listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# ---- P1, P2, P4, P10 and Gatling: a node with a warm pool of local runners ----
if [ -n "$api_targets" ] || $gatling || $p3; then
  pool="${BENCH_POOL:-200}"
  ports=($(bench free-ports 3))
  api_dir="$tmp/api"; mkdir -p "$api_dir"
  operator_token="bench-operator-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
  node="http://127.0.0.1:${ports[0]}"
  cat >"$api_dir/pool.conf" <<CONF
include file("$home/conf/application.conf")
offload.runners.classes.standard { provider = local, min-warm = $pool, max = $pool }
CONF
  echo "starting bin/offload-server on $node with a warm pool of $pool local runners" >&2
  OFFLOAD_DATA_DIR="$api_dir/data" OFFLOAD_HTTP_PORT="${ports[0]}" OFFLOAD_HTTP_INTERFACE=127.0.0.1 \
    OFFLOAD_CLUSTER_HOST=127.0.0.1 OFFLOAD_CLUSTER_PORT="${ports[1]}" OFFLOAD_DB_EMBEDDED_PORT="${ports[2]}" \
    OFFLOAD_OPERATOR_TOKEN="$operator_token" OFFLOAD_CONFIG="$api_dir/pool.conf" \
    JAVA_OPTS="-Doffload.runners.health-command=true -Doffload.runners.wipe-command=true ${BENCH_SERVER_JAVA_OPTS:-}" \
    "$home/bin/offload-server" >"$results/api-server.log" 2>&1 &
  api_server_pid=$!
  wait_for "the node to be ready (see $results/api-server.log)" 180 "$api_server_pid" curl -sf "$node/health/ready"
fi
if [ -n "$api_targets" ]; then
  echo "measuring $api_targets (about $(( (${BENCH_SECONDS:-60} + 25) * ${BENCH_ROUNDS:-3} ))s per target group)..." >&2
  java -cp "$jar:$home/modules/server/target/offload-server.jar:$home/modules/server/target/lib/*" \
    dev.offload.loadtests.ApiBenchmark --url "$node" --operator-token "$operator_token" \
    --jdbc-url "jdbc:postgresql://127.0.0.1:${ports[2]}/postgres" --out "$results" --targets "$api_targets" \
    --rounds "${BENCH_ROUNDS:-3}" --workers "${BENCH_WORKERS:-100}" --seconds "${BENCH_SECONDS:-60}" \
    --warmup "${BENCH_WARMUP_SECONDS:-10}" --get-rate "${BENCH_GET_RATE:-2000}" --pool "$pool" \
    2> >(tee "$results/api.log" >&2)
  echo >&2
fi
if $p3; then
  echo "P3: bin/offload start --detach, ${BENCH_P3_STARTS:-20} starts per round, against the warm pool of $pool..." >&2
  java -cp "$jar:$home/modules/server/target/offload-server.jar:$home/modules/server/target/lib/*" \
    dev.offload.loadtests.StartBenchmark --url "$node" --operator-token "$operator_token" \
    --offload "$home/bin/offload" --work "$tmp/p3" --out "$results" --pool "$pool" \
    --rounds "${BENCH_ROUNDS:-3}" --starts "${BENCH_P3_STARTS:-20}" 2> >(tee "$results/p3.log" >&2)
  echo >&2
fi
if $gatling; then
  gatling_cp="$here/gatling/target/offload-gatling.jar:$here/gatling/target/lib/*"
  echo "Gatling: ${BENCH_GATLING_USERS:-50} users for ${BENCH_GATLING_SECONDS:-60}s against one node..." >&2
  java --add-opens java.base/java.lang=ALL-UNNAMED -Doffload.urls="$node" -Doffload.operatorToken="$operator_token" \
    -Doffload.users="${BENCH_GATLING_USERS:-50}" -Doffload.seconds="${BENCH_GATLING_SECONDS:-60}" -cp "$gatling_cp" \
    io.gatling.app.Gatling --simulation dev.offload.gatling.LifecycleSimulation \
    --results-folder "$results/gatling-1-node" >"$results/gatling-1-node.log" 2>&1 \
    || { echo "Gatling failed (see $results/gatling-1-node.log)" >&2; exit 1; }
  stop_pid "$api_server_pid" 30; api_server_pid=""
  # The same simulation against three nodes (deploy/local/cluster.sh, its runners in a runner-host
  # process), the virtual users spread over the nodes; BENCH_GATLING_CLUSTER=0 skips it.
  if [ "${BENCH_GATLING_CLUSTER:-1}" != 0 ]; then
    base=""
    for _ in $(seq 1 50); do
      candidate=$((20000 + RANDOM % 20000)); taken=false
      for offset in 0 1 2 100 101 102 200 201 202 300; do listening $((candidate + offset)) && taken=true; done
      $taken || { base=$candidate; break; }
    done
    [ -n "$base" ] || { echo "found no free ports for a local cluster" >&2; exit 1; }
    cluster_env=(OFFLOAD_LOCAL_CLUSTER_DIR="$tmp/cluster" OFFLOAD_OPERATOR_TOKEN="$operator_token"
      OFFLOAD_RUNNER_HEALTH_COMMAND=true OFFLOAD_RUNNER_WIPE_COMMAND=true)
    echo "Gatling: starting a 3-node cluster on ports $base.. with $pool runners..." >&2
    cluster_started=true
    env "${cluster_env[@]}" "$home/deploy/local/cluster.sh" start 3 --base-port "$base" --runners "$pool" \
      >"$results/cluster.log" 2>&1 || { echo "the cluster did not start (see $results/cluster.log)" >&2; exit 1; }
    java --add-opens java.base/java.lang=ALL-UNNAMED \
      -Doffload.urls="http://127.0.0.1:$base,http://127.0.0.1:$((base + 1)),http://127.0.0.1:$((base + 2))" \
      -Doffload.operatorToken="$operator_token" -Doffload.users="${BENCH_GATLING_USERS:-50}" \
      -Doffload.seconds="${BENCH_GATLING_SECONDS:-60}" -cp "$gatling_cp" \
      io.gatling.app.Gatling --simulation dev.offload.gatling.LifecycleSimulation \
      --results-folder "$results/gatling-3-nodes" >"$results/gatling-3-nodes.log" 2>&1 \
      || { echo "Gatling failed against the cluster (see $results/gatling-3-nodes.log)" >&2; exit 1; }
    env "${cluster_env[@]}" "$home/deploy/local/cluster.sh" stop >>"$results/cluster.log" 2>&1 || true
    cluster_started=false
    cp -r "$tmp/cluster" "$results/cluster-logs" 2>/dev/null || true
  fi
  {
    echo "| set-up | request | count | failed | req/s | p50 ms | p95 ms | p99 ms |"
    echo "|---|---|---|---|---|---|---|---|"
    java -cp "$gatling_cp" dev.offload.gatling.GatlingSummary "$results/gatling-1-node" "1 node"
    [ -d "$results/gatling-3-nodes" ] && java -cp "$gatling_cp" dev.offload.gatling.GatlingSummary "$results/gatling-3-nodes" "3 nodes"
  } >"$results/gatling.md"
  cat "$results/gatling.md"
fi
if [ -n "$api_server_pid" ]; then stop_pid "$api_server_pid" 30; api_server_pid=""; fi

# ---- P5: a node of its own with as many static runners as the largest step ----
# Each runner is a `static` entry pointing at one of a few SSH servers (the local provider's MINA
# SSHD, in bin/offload-runner-host's JVM, as VMs would be): one SSH server per runner would measure
# the runners, not the node. Their `docker` exits 1 at once (no engine: container tracking backs
# off to a retry every 30 s per session); health and wipe are `true`.
if $p5; then
  steps="${BENCH_SCALE_STEPS:-1000,2000,5000,10000}"
  largest="$(tr ',' '\n' <<<"$steps" | sort -n | tail -1)"
  warm="${BENCH_SCALE_WARM:-100}"
  runners=$((largest + warm))
  scale_dir="$tmp/scale"; mkdir -p "$scale_dir/runner-host/runners/bin"
  printf '#!/bin/sh\n# No Docker Engine on these runners.\nexit 1\n' >"$scale_dir/runner-host/runners/bin/docker"
  chmod 755 "$scale_dir/runner-host/runners/bin/docker"
  echo "P5: $runners static runners over ${BENCH_SCALE_SSH_SERVERS:-4} SSH servers (bin/offload-runner-host)" >&2
  "$home/bin/offload-runner-host" --dir "$scale_dir/runner-host" --runners "${BENCH_SCALE_SSH_SERVERS:-4}" --min-warm 1 \
    >"$results/p5-runner-host.log" 2>&1 &
  runner_host_pid=$!
  wait_for "the runner host (see $results/p5-runner-host.log)" 120 "$runner_host_pid" test -s "$scale_dir/runner-host/runners.conf"
  java -cp "$jar:$home/modules/server/target/offload-server.jar:$home/modules/server/target/lib/*" \
    dev.offload.loadtests.ScaleBenchmark static-config --from "$scale_dir/runner-host/runners.conf" \
    --runners "$runners" --min-warm "$warm" --to "$scale_dir/runners.conf"
  ports=($(bench free-ports 3))
  scale_node="http://127.0.0.1:${ports[0]}"
  operator_token="bench-operator-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
  cat >"$scale_dir/node.conf" <<CONF
include file("$home/conf/application.conf")
include file("$scale_dir/runners.conf")
CONF
  echo "P5: starting bin/offload-server on $scale_node ($warm of $runners runners kept warm)" >&2
  OFFLOAD_DATA_DIR="$scale_dir/data" OFFLOAD_HTTP_PORT="${ports[0]}" OFFLOAD_HTTP_INTERFACE=127.0.0.1 \
    OFFLOAD_CLUSTER_HOST=127.0.0.1 OFFLOAD_CLUSTER_PORT="${ports[1]}" OFFLOAD_DB_EMBEDDED_PORT="${ports[2]}" \
    OFFLOAD_OPERATOR_TOKEN="$operator_token" OFFLOAD_CONFIG="$scale_dir/node.conf" \
    JAVA_OPTS="-Doffload.runners.health-command=true -Doffload.runners.wipe-command=true -Doffload.runners.health-interval=${BENCH_SCALE_HEALTH_INTERVAL:-60s} ${BENCH_SERVER_JAVA_OPTS:-}" \
    "$home/bin/offload-server" >"$results/p5-server.log" 2>&1 &
  scale_server_pid=$!
  wait_for "the node to be ready (see $results/p5-server.log)" 180 "$scale_server_pid" curl -sf "$scale_node/health/ready"
  echo "P5: ramping live sessions through $steps..." >&2
  java -Djava.awt.headless=true -cp "$jar:$home/modules/server/target/offload-server.jar:$home/modules/server/target/lib/*" \
    dev.offload.loadtests.ScaleBenchmark run --url "$scale_node" --operator-token "$operator_token" \
    --node-pid "$scale_server_pid" --out "$results" --steps "$steps" --warm "$warm" \
    --get-rate "${BENCH_SCALE_GET_RATE:-200}" --get-seconds "${BENCH_SCALE_GET_SECONDS:-15}" --get-warmup "${BENCH_SCALE_GET_WARMUP:-5}" \
    --settle "${BENCH_SCALE_SETTLE:-10}" --parallel "${BENCH_SCALE_PARALLEL:-16}" \
    --max-seconds "${BENCH_SCALE_MAX_SECONDS:-420}" 2> >(tee "$results/p5.log" >&2)
  stop_pid "$scale_server_pid" 30; scale_server_pid=""
  stop_pid "$runner_host_pid" 30; runner_host_pid=""
  echo >&2
fi
[ -z "$targets" ] && exit 0

# ---- the benchmark JVM and its echo server (java itself in the background, so $! is its pid) ----
java -cp "$jar" dev.offload.loadtests.TunnelBenchmark run --sink-port-file "$tmp/sink.port" --ready-file "$tmp/ready" --out "$results" --targets "$targets" \
  --rounds "${BENCH_ROUNDS:-3}" --bulk-mib "${BENCH_BULK_MIB:-256}" --round-timeout "${BENCH_ROUND_TIMEOUT:-12}" \
  --pings "${BENCH_PINGS:-2000}" --warmup "${BENCH_WARMUP:-200}" >"$results/table.md" 2>"$results/benchmark.log" &
bench_pid=$!
wait_for "the echo server" 30 "$bench_pid" test -s "$tmp/sink.port"
sink="$(cat "$tmp/sink.port")"
ports=($(bench free-ports 4))
http_port="${ports[0]}"; cluster_port="${ports[1]}"; sshd_port="${ports[2]}"; ssh_port="${ports[3]}"

# ---- OpenSSH: a user-run sshd and ssh -L with default settings ----
ssh_dir="$tmp/ssh"; mkdir -p "$ssh_dir"
ssh-keygen -q -t ed25519 -N '' -f "$ssh_dir/host_key"
ssh-keygen -q -t ed25519 -N '' -f "$ssh_dir/client_key"
cp "$ssh_dir/client_key.pub" "$ssh_dir/authorized_keys"
chmod 600 "$ssh_dir/authorized_keys"
cat >"$ssh_dir/sshd_config" <<CONF
ListenAddress 127.0.0.1
Port $sshd_port
HostKey $ssh_dir/host_key
PidFile $ssh_dir/sshd.pid
AuthorizedKeysFile $ssh_dir/authorized_keys
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
AllowTcpForwarding yes
PermitRootLogin prohibit-password
CONF
[ "$(id -u)" -eq 0 ] && [ ! -d /run/sshd ] && mkdir -p /run/sshd && chmod 755 /run/sshd
"$sshd_bin" -D -e -f "$ssh_dir/sshd_config" >"$results/sshd.log" 2>&1 &
sshd_pid=$!
wait_for "sshd on port $sshd_port (see $results/sshd.log)" 20 "$sshd_pid" listening "$sshd_port"
ssh -N -L "$ssh_port:127.0.0.1:$sink" -p "$sshd_port" -i "$ssh_dir/client_key" -o BatchMode=yes \
  -o IdentitiesOnly=yes -o ExitOnForwardFailure=yes -o StrictHostKeyChecking=accept-new \
  -o UserKnownHostsFile="$ssh_dir/known_hosts" -F /dev/null "$(id -un)@127.0.0.1" >"$results/ssh.log" 2>&1 &
ssh_pid=$!
wait_for "ssh -L on port $ssh_port (see $results/ssh.log)" 20 "$ssh_pid" listening "$ssh_port"

# ---- the control-plane node, its session and the CLI bridge ----
# BENCH_RUNNER=openssh (a diagnostic, not the P6/P7 set-up): the session's runner is the sshd above,
# as a static runner, instead of a local runner's MINA SSHD inside the node's JVM.
config="$home/conf/application.conf"
case "${BENCH_RUNNER:-local}" in
  local) ;;
  openssh)
    config="$tmp/static-runner.conf"
    cat >"$config" <<CONF
include file("$home/conf/application.conf")
offload.runners.classes.standard { provider = static, min-warm = 1, max = 1 }
offload.runners.static.hosts = [{ id = "openssh-bench", class = "standard", host = "127.0.0.1", port = $sshd_port,
  user = "$(id -un)", host-key = "$(cut -d' ' -f1-2 "$ssh_dir/host_key.pub")", engine-target = "tcp://127.0.0.1:$sink" }]
offload.runners.ssh.identity = "$ssh_dir/client_key"
CONF
    ;;
  *) echo "BENCH_RUNNER is local or openssh, not '$BENCH_RUNNER'" >&2; exit 2 ;;
esac
echo "starting bin/offload-server on 127.0.0.1:$http_port (engine target tcp://127.0.0.1:$sink, ${BENCH_RUNNER:-local} runner)" >&2
OFFLOAD_DATA_DIR="$tmp/data" OFFLOAD_HTTP_PORT="$http_port" OFFLOAD_HTTP_INTERFACE=127.0.0.1 \
  OFFLOAD_CLUSTER_HOST=127.0.0.1 OFFLOAD_CLUSTER_PORT="$cluster_port" OFFLOAD_LOCAL_ENGINE="tcp://127.0.0.1:$sink" \
  OFFLOAD_CONFIG="$config" \
  JAVA_OPTS="-Doffload.runners.health-command=true -Doffload.runners.wipe-command=true ${BENCH_SERVER_JAVA_OPTS:-}" \
  "$home/bin/offload-server" >"$results/server.log" 2>&1 &
server_pid=$!
wait_for "the node to be ready (see $results/server.log)" 180 "$server_pid" \
  curl -sf "http://127.0.0.1:$http_port/health/ready"
wait_for "the dev token" 30 "$server_pid" test -s "$tmp/data/dev-token"
mkdir -p "$tmp/config" "$tmp/home" "$tmp/docker"
cli login --server "http://127.0.0.1:$http_port" --token "$(cat "$tmp/data/dev-token")" >"$results/cli.log" 2>&1
cli start --detach >"$tmp/start.out" 2>>"$results/cli.log"
cat "$tmp/start.out" >>"$results/cli.log"
offload_port="$(sed -nE 's/^export DOCKER_HOST=tcp:\/\/127\.0\.0\.1:([0-9]+).*/\1/p' "$tmp/start.out" | head -1)"
[ -n "$offload_port" ] || { echo "bin/offload start printed no DOCKER_HOST (see $results/cli.log)" >&2; exit 1; }
wait_for "the Offload bridge on port $offload_port" 30 - listening "$offload_port"

# ---- measure ----
bridge_pid="$(cat "$tmp/config/offload/bridge.pid" 2>/dev/null || echo "")"
declare -A cpu_before
for name in server bridge ssh sshd; do
  var="${name}_pid"; [ -n "${!var:-}" ] && cpu_before[$name]="$(cpu_ticks "${!var}")"
done
printf 'ssh=%s\noffload=%s\n' "$ssh_port" "$offload_port" >"$tmp/ready.tmp" && mv "$tmp/ready.tmp" "$tmp/ready"
echo "measuring $targets: direct 127.0.0.1:$sink, ssh -L 127.0.0.1:$ssh_port, offload 127.0.0.1:$offload_port" >&2
tail -n +1 -f "$results/benchmark.log" --pid "$bench_pid" >&2 &
# The benchmark JVM writes its results once measuring is done: take the CPU figures then.
wait_for "the benchmark to finish measuring" 600 "$bench_pid" test -s "$results/results.md" || true
{
  echo "CPU seconds used while measuring (process and its children; clock tick $(getconf CLK_TCK)/s):"
  for name in server bridge ssh sshd; do
    var="${name}_pid"; [ -n "${cpu_before[$name]:-}" ] || continue
    echo "$name $(awk -v a="${cpu_before[$name]}" -v b="$(cpu_ticks "${!var}")" -v t="$(getconf CLK_TCK)" 'BEGIN{printf "%.2f", (b-a)/t}')"
  done
  echo "(server = node JVM: akka-http, JSch and the local runner's MINA SSHD; bridge = offload bridge JVM;"
  echo " ssh/sshd = OpenSSH baseline)"
} >"$results/cpu.txt"
if ! wait "$bench_pid"; then bench_pid=""; echo "the benchmark failed (see $results/benchmark.log)" >&2; exit 1; fi
bench_pid=""
{
  echo "command: load-tests/run.sh $*"
  echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(java -version 2>&1 | head -1)"
  echo "ssh: $(ssh -V 2>&1)"
} >"$results/environment.txt"
cat "$results/table.md"
echo "results in $results" >&2

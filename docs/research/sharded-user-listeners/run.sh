#!/usr/bin/env bash
# Sharded user listeners experiment: real Envoy, loopback only. See README.md.
#
#   docs/research/sharded-user-listeners/run.sh               # baseline, 16 and 64 shards, 10,000 users
#   MODES="0 16" USERS=2000 docs/research/sharded-user-listeners/run.sh
#   KEEP=1 ...    keeps the work directory (configs, Envoy logs, access log)
#   LDS_FORMAT=json ...   LDS file as JSON (default pb: binary DiscoveryResponse, as on a gRPC stream)
#   RUNTIME= ...  Envoy's default runtime (default: enable_send_rst_on_user_space_socket=false,
#                 without which TLS alerts from the shard listeners are lost; see README.md)
#   ENVOY=/path/to/envoy ...   another binary (default: "envoy" in ~/.cache/kubegate/tools.json)
#
# MODES: 0 = baseline (one listener with every user's chain), N = N internal shard listeners.
# Each mode gets a fresh Envoy (--concurrency 2 --drain-time-s 1 --drain-strategy immediate)
# and runs `probe.mjs suite`; results are JSON lines in $WORK/results-<mode>.jsonl.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
ENVOY=${ENVOY:-$(node -e 'console.log(require(require("os").homedir()+"/.cache/kubegate/tools.json").envoy)')}
USERS=${USERS:-10000}
MODES=${MODES:-0 16 64}
CONCURRENCY=${CONCURRENCY:-2}
EDGE=18600 DIRECT=18601 BACKEND=18680 ADMIN=18690
WORK=$(mktemp -d /tmp/kubegate-sharded-XXXXXX)
declare -A PID
cleanup() {
  for name in "${!PID[@]}"; do kill "${PID[$name]}" 2>/dev/null; done
  wait 2>/dev/null
  if [ -n "${KEEP:-}" ]; then echo "work directory kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
for port in $EDGE $DIRECT $BACKEND $ADMIN; do
  if (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null; then echo "127.0.0.1:$port is in use" >&2; exit 2; fi
done
echo "== $("$ENVOY" --version | tr -s ' \n' ' ')"
echo "== $(nproc) CPUs, work directory $WORK"

"$HERE/pki.sh" "$WORK/pki"
mkdir -p "$WORK/logs"
node "$HERE/backend.mjs" $BACKEND >"$WORK/logs/backend.log" 2>&1 & PID[backend]=$!

stat_of() { curl -s "127.0.0.1:$ADMIN/stats?filter=^$1\$" | awk -F': ' '{print $2+0}'; }
cpu_ms() { awk '{print ($14+$15)*10}' "/proc/$1/stat"; }   # utime+stime, CLK_TCK 100

for mode in $MODES; do
  echo "== mode $mode ($([ "$mode" = 0 ] && echo 'baseline: one listener' || echo "$mode internal shard listeners")), $USERS users"
  rm -rf "$WORK/lds"
  node "$HERE/config.mjs" bootstrap "$WORK" "$mode" $EDGE $DIRECT $ADMIN $BACKEND >"$WORK/bootstrap-$mode.json"
  node "$HERE/config.mjs" lds "$WORK" "$mode" "$USERS" $EDGE $DIRECT
  expected=$(( mode == 0 ? 2 : mode + 2 ))
  t0=$(date +%s%N)
  "$ENVOY" -c "$WORK/bootstrap-$mode.json" --disable-hot-restart --concurrency "$CONCURRENCY" \
    --drain-time-s 1 --drain-strategy immediate -l warning >"$WORK/logs/envoy-$mode.log" 2>&1 &
  PID[envoy]=$!
  until [ "$(stat_of listener_manager.total_listeners_active 2>/dev/null)" = "$expected" ]; do
    kill -0 "${PID[envoy]}" 2>/dev/null || { echo "Envoy exited:"; tail "$WORK/logs/envoy-$mode.log"; exit 1; }
    sleep 0.05
  done
  echo "{\"what\":\"startup\",\"shards\":$mode,\"listenersActiveAfterMs\":$(( ($(date +%s%N) - t0) / 1000000 )),\"cpuMs\":$(cpu_ms "${PID[envoy]}")}" | tee "$WORK/results-$mode.jsonl"
  node "$HERE/probe.mjs" suite "$WORK" "$mode" "$USERS" $EDGE $DIRECT $ADMIN "${PID[envoy]}" $([ "$mode" = 0 ] || echo latency) | tee -a "$WORK/results-$mode.jsonl"
  kill "${PID[envoy]}"; wait "${PID[envoy]}" 2>/dev/null; unset 'PID[envoy]'
  grep -iE 'critical|error' "$WORK/logs/envoy-$mode.log" | head -5
done

#!/usr/bin/env bash
# The benchmarks of docs/benchmarks.md, each from one command: a fresh database and a fresh
# release server for every quizroom run, JSON kept for every run.
#
#   scripts/bench.sh game [quizload args]   one quizroom run, e.g. --rooms 1000 --players 10
#   scripts/bench.sh floor N [floor args]   the bare WebSocket floor (quizload floor), N sockets
#   scripts/bench.sh suite [SIZE ...]       the issue's sizes, one summary line per run:
#     1x1000 1x2000 1000x10   random answers, each between two floor runs of as many sockets
#     burst2000 burst1000x10  answer bursts of >= 20,000 a second
#     19x1000                 the ceiling in 19 rooms (the fd limit is 20,000 per process)
#     1x19000                 the ceiling in one room (not in the default list)
#   [default: 1x1000 1x2000 1000x10 burst2000 burst1000x10 19x1000, about 10 minutes]
#
# Results go to $BENCH_OUT (default target/bench/<date-time>/): NAME.json per run, NAME.log
# the server's log, summary.txt a line per run, and after a suite summary.md, its tables in
# the form of docs/benchmarks.md (scripts/bench-table.py DIR... makes them for any folders).
# The server runs with scripts/run.sh's MALLOC_MMAP_THRESHOLD_=8192 and MAX_PLAYERS_CAP=20000;
# SERVER_ENV="K=V ..." adds settings (e.g. ROOMS_THREAD_PRIORITY=normal). Ports: free ones, or
# BENCH_PORT and BENCH_FLOOR_PORT. python3 makes the summaries (without it, only the JSON).
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf 'bench.sh: %s\n' "$*" >&2; }
usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0" >&2; exit 2; }

# The runs of each suite size, one per line: "floor NAME SOCKETS" or "game NAME QUIZLOAD-ARGS".
# The one list of the sizes the check below and the suite know (the usage text above names them).
size_runs() {
  case $1 in
    1x1000) printf '%s\n' "floor floor1000a 1000" \
      "game 1x1000 --rooms 1 --players 1000 --questions 10" "floor floor1000b 1000" ;;
    1x2000) printf '%s\n' "floor floor2000a 2000" \
      "game 1x2000 --rooms 1 --players 2000 --questions 10" "floor floor2000b 2000" ;;
    1000x10) printf '%s\n' "floor floor10000a 10000" \
      "game 1000x10 --rooms 1000 --players 10" "floor floor10000b 10000" ;;
    burst2000) echo "game burst2000 --rooms 1 --players 2000 --answer burst --burst-window-ms 50 --questions 10" ;;
    burst1000x10) echo "game burst1000x10 --rooms 1000 --players 10 --answer burst --burst-window-ms 450" ;;
    19x1000) echo "game 19x1000 --rooms 19 --players 1000" ;;
    1x19000) echo "game 1x19000 --rooms 1 --players 19000" ;;
    *) return 1 ;;
  esac
}
default_sizes=(1x1000 1x2000 1000x10 burst2000 burst1000x10 19x1000)

case ${1:-} in
  game) ;;
  suite)
    # A typo in a size should not cost a build and ten minutes first.
    for size in "${@:2}"; do
      size_runs "$size" >/dev/null || { say "unknown size $size (see scripts/bench.sh without arguments)"; exit 2; }
    done ;;
  floor) [ $# -ge 2 ] || usage ;;
  *) usage ;;
esac

# One file descriptor per socket, in the server and in quizload; 20,000 is this machine's limit.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt 20000 ]; then
  say "warning: the file-descriptor limit is $(ulimit -n); the big runs need 20000 (ulimit -n)"
fi

# shellcheck source=scripts/db.sh
. scripts/db.sh
# Each run gets a database of its own, dropped first, on the same PostgreSQL.
bench_db_url=$(qr_with_db "$DATABASE_URL" quizroom_bench)
admin_db_url=$(qr_with_db "$DATABASE_URL" postgres)
psql_bin=$(qr_pg_tool psql) || { say "error: psql not found (apt-get install postgresql-client)"; exit 2; }

export SQLX_OFFLINE=${SQLX_OFFLINE:-true}
env -u MALLOC_MMAP_THRESHOLD_ cargo build --release --bin quizroom --bin quizload >&2
bin=${CARGO_TARGET_DIR:-target}/release
out=${BENCH_OUT:-${CARGO_TARGET_DIR:-target}/bench/$(date -u +%Y%m%d-%H%M%S)}
mkdir -p "$out"

addr=127.0.0.1:${BENCH_PORT:-$(qr_free_port)}
floor_addr=127.0.0.1:${BENCH_FLOOR_PORT:-$(qr_free_port)}
admin_token=bench-admin-token

server_pid=
stop_server() {
  if [ -n "$server_pid" ]; then
    kill -TERM "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    server_pid=
  fi
}
trap stop_server EXIT

# Waits until nothing listens on host:port any more (a previous server's socket).
wait_port_free() {
  local i
  for i in $(seq 50); do qr_tcp_open "${1%:*}" "${1#*:}" || return 0; sleep 0.2; done
  say "error: something still listens on $1"; exit 2
}

# game NAME [quizload args]: one quizroom run against a fresh server and database.
game() {
  local name=$1; shift
  wait_port_free "$addr"
  "$psql_bin" -q "$admin_db_url" -c "DROP DATABASE IF EXISTS quizroom_bench WITH (FORCE)" >/dev/null
  # shellcheck disable=SC2086 # SERVER_ENV is a list of K=V words
  env DATABASE_URL="$bench_db_url" ADMIN_TOKEN="$admin_token" QUIZROOM_ADDR="$addr" \
    RUST_LOG=warn MALLOC_MMAP_THRESHOLD_="${MALLOC_MMAP_THRESHOLD_:-8192}" \
    MAX_PLAYERS_CAP=20000 ${SERVER_ENV:-} "$bin/quizroom" >"$out/$name.log" 2>&1 &
  server_pid=$!
  local i
  for i in $(seq 151); do
    [ "$(qr_http_status "${addr#*:}" /healthz)" = 200 ] && break
    kill -0 "$server_pid" 2>/dev/null || { say "error: the server stopped; see $out/$name.log"; exit 1; }
    [ "$i" -le 150 ] || { say "error: no GET /healthz 200 within 30 s; see $out/$name.log"; exit 1; }
    sleep 0.2
  done
  say "$name: quizload $*"
  local rc=0
  "$bin/quizload" --url "http://$addr" --server-pid "$server_pid" --admin-token "$admin_token" \
    --connect-concurrency 100 --json "$@" >"$out/$name.json" || rc=$?
  stop_server
  summary "$name"
  return "$rc"
}

# floor NAME N [floor args]: the floor server and its client.
floor() {
  local name=$1 n=$2; shift 2
  wait_port_free "$floor_addr"
  "$bin/quizload" floor-server --addr "$floor_addr" 2>"$out/$name.log" &
  server_pid=$!
  until qr_tcp_open "${floor_addr%:*}" "${floor_addr#*:}"; do
    kill -0 "$server_pid" 2>/dev/null || { say "error: the floor server stopped; see $out/$name.log"; exit 1; }
    sleep 0.1
  done
  say "$name: quizload floor --connections $n $*"
  local rc=0
  "$bin/quizload" floor --url "ws://$floor_addr" --server-pid "$server_pid" --connections "$n" \
    --json "$@" >"$out/$name.json" || rc=$?
  stop_server
  summary "$name"
  return "$rc"
}

# One line per run, appended to summary.txt (scripts/bench-table.py knows the JSON's layout).
summary() {
  command -v python3 >/dev/null 2>&1 || return 0
  python3 scripts/bench-table.py --line "$out/$1.json" | tee -a "$out/summary.txt"
}

suite() {
  local sizes=("$@") rc=0 size kind name args
  [ ${#sizes[@]} -gt 0 ] || sizes=("${default_sizes[@]}")
  for size in "${sizes[@]}"; do
    # On fd 3, so that nothing a run starts can read the list from stdin.
    while read -r -u 3 kind name args; do
      # shellcheck disable=SC2086 # args is a list of words without spaces inside
      "$kind" "$name" $args || rc=1
    done 3< <(size_runs "$size")
  done
  if command -v python3 >/dev/null 2>&1; then
    python3 scripts/bench-table.py "$out" >"$out/summary.md"
  fi
  say "results in $out (summary.txt: a line per run; summary.md: the tables of docs/benchmarks.md)"
  return "$rc"
}

command=$1
shift
case $command in
  game) game "game-$(date -u +%H%M%S)" "$@" ;;
  floor) floor "floor-$(date -u +%H%M%S)" "$@" ;;
  suite) suite "$@" ;;
esac

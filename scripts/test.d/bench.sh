#!/usr/bin/env bash
# Smoke test of scripts/bench.sh, the command docs/benchmarks.md reproduces its figures with:
# one tiny quizroom run and one tiny floor run must finish, write their JSON and report ok.
# The figures themselves are not checked here (speed lives in the benchmark, not in tests).
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=scripts/lib.sh
. scripts/lib.sh

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
export BENCH_OUT=$out

scripts/bench.sh game --rooms 2 --players 3 --questions 2 --time-limit-ms 600
scripts/bench.sh floor 20 --rounds 2 --period-ms 300

fail() { echo "bench smoke test: $*" >&2; exit 1; }
[ "$(find "$out" -name 'game-*.json' | wc -l)" = 1 ] || fail "no JSON for the quizroom run"
[ "$(find "$out" -name 'floor-*.json' | wc -l)" = 1 ] || fail "no JSON for the floor run"
[ "$(grep -c 'ok=True' "$out/summary.txt")" = 2 ] || fail "summary.txt: $(cat "$out/summary.txt")"
grep -q 'lost 0' "$out/summary.txt" || fail "the quizroom run lost answers"
# The docs' tables from the same folder: one floor row and one quizroom row with its 0 lost.
table=$(python3 scripts/bench-table.py "$out")
[ "$(grep -c '^| 20 |' <<<"$table")" = 1 ] || fail "no floor row: $table"
grep -q '^| game-.*: 2 × 3, 2 q, random |.* | 0 |$' <<<"$table" || fail "no quizroom row: $table"
# A folder without results is an error, not an empty table.
rc=0
message=$(python3 scripts/bench-table.py "$out/nothing-here" 2>&1) || rc=$?
[ "$rc" = 2 ] && grep -q 'no results' <<<"$message" || fail "an empty folder: exit $rc, $message"
# A size that does not exist is refused before anything is built or started.
rc=0
message=$(scripts/bench.sh suite 1x1000 10x10x10 2>&1) || rc=$?
[ "$rc" = 2 ] || fail "an unknown size: exit $rc, expected 2"
grep -q 'unknown size 10x10x10' <<<"$message" || fail "an unknown size: $message"
# A port someone else listens on is an error after a while, not a hang or another's numbers.
taken=$(qr_free_port)
python3 -c 'import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(); time.sleep(60)' "$taken" &
holder=$!
until qr_tcp_open 127.0.0.1 "$taken"; do sleep 0.1; done
rc=0
message=$(BENCH_FLOOR_PORT=$taken scripts/bench.sh floor 5 2>&1) || rc=$?
kill "$holder"
[ "$rc" = 2 ] || fail "a taken port: exit $rc, expected 2"
grep -q "something still listens on 127.0.0.1:$taken" <<<"$message" || fail "a taken port: $message"
echo "bench smoke test: both runs reported ok, an unknown size and a taken port were refused"

#!/usr/bin/env bash
# The project's one "run every test" command (CI runs it through .ci/run).
# In order, stopping at the first failure: database (scripts/db.sh), fmt, clippy,
# cargo test, the release build, then against that one binary started on a free
# port with a fresh database: the acceptance suite (../shared/acceptance), the
# browser tests (tests/browser) and every executable scripts/test.d/*.sh.
# Installs with apt-get (as root) what a fresh Debian machine lacks for them.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
# shellcheck source=scripts/lib.sh
. scripts/lib.sh

export SQLX_OFFLINE=true # no build may need a database
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 PUPPETEER_SKIP_DOWNLOAD=1
admin_token=admin-secret
shared=$root/../shared
step=start
server_pid=
server_log=
accept_db=
accept_db_url=

section() {
  step=$1
  printf '\n==> %s\n' "$1"
}

# Runs at every exit: stops the server, drops its database after a success,
# and says in the last line whether everything passed or which step failed.
finish() {
  local rc=$?
  if [ -n "$server_pid" ]; then
    kill "$server_pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.2; done
    kill -9 "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  if [ "$rc" = 0 ]; then
    if [ -n "$accept_db" ] && psql=$(qr_pg_tool psql); then
      "$psql" -X -q "$(qr_with_db "$DATABASE_URL" postgres)" -c "drop database if exists $accept_db with (force)" \
        >/dev/null 2>&1 || true
    fi
    printf '\ntest.sh: every step passed\n'
  else
    if [ -n "$server_log" ]; then
      printf '\nthe server log is in %s, its database is %s\n' "$server_log" "$accept_db"
    fi
    printf '\ntest.sh: FAILED at step "%s" (exit %s)\n' "$step" "$rc"
  fi
}
trap finish EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

section database
# shellcheck source=scripts/db.sh
. scripts/db.sh

section fmt
if ! cargo fmt --version >/dev/null 2>&1; then rustup component add rustfmt; fi
cargo fmt --all -- --check

section clippy
if ! cargo clippy --version >/dev/null 2>&1; then rustup component add clippy; fi
cargo clippy --all-targets -- -D warnings

section "cargo test"
cargo test --all-targets

section "release build"
cargo build --release --bin quizroom
bin=${CARGO_TARGET_DIR:-$root/target}/release/quizroom

section "start server"
port=$(qr_free_port)
base_url=http://127.0.0.1:$port
# A fresh database of its own, which the server creates and migrates at start.
accept_db=quizroom_accept_$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')
accept_db_url=$(qr_with_db "$DATABASE_URL" "$accept_db")
server_log=${CARGO_TARGET_DIR:-$root/target}/acceptance-server.log
# Only the settings the suite expects: everything else at its default (rule: the
# acceptance suite needs the default tick, frame limit, rate limit and throttle), plus the
# allocator setting scripts/run.sh gives the server.
env -i PATH="$PATH" HOME="${HOME:-/root}" \
  RUST_LOG="${RUST_LOG:-info}" RUST_BACKTRACE="${RUST_BACKTRACE:-1}" \
  DATABASE_URL="$accept_db_url" QUIZROOM_ADDR="127.0.0.1:$port" ADMIN_TOKEN="$admin_token" \
  MALLOC_MMAP_THRESHOLD_=8192 \
  "$bin" >"$server_log" 2>&1 &
server_pid=$!
echo "server pid $server_pid on $base_url, database $accept_db, log $server_log"
deadline=$((SECONDS + 60))
until [ "$(qr_http_status "$port" /healthz)" = 200 ]; do
  if ! kill -0 "$server_pid" 2>/dev/null || [ "$SECONDS" -ge "$deadline" ]; then
    if kill -0 "$server_pid" 2>/dev/null; then
      echo "GET /healthz did not answer 200 within 60 s; the server log:"
    else
      echo "the server exited before it answered GET /healthz; its log:"
    fi
    if [ -s "$server_log" ]; then cat "$server_log"; else echo "(the log is empty)"; fi
    exit 1
  fi
  sleep 0.5
done
echo "GET /healthz answered 200"

section acceptance
if [ ! -f "$shared/acceptance/run.sh" ]; then
  echo "$shared/acceptance/run.sh is missing: the shared folder must lie beside the project"
  exit 1
fi
if ! command -v python3 >/dev/null 2>&1; then
  qr_apt_install python3 python3-venv
elif ! python3 -c 'import ensurepip, venv' 2>/dev/null; then
  qr_apt_install python3-venv
fi
rc=0
BASE_URL=$base_url ADMIN_TOKEN=$admin_token bash "$shared/acceptance/run.sh" || rc=$?
if [ "$rc" = 5 ]; then
  echo "pytest collected no tests"
fi
[ "$rc" = 0 ] || exit "$rc"

if [ -f tests/browser/package.json ]; then
  section "browser tests"
  if [ ! -x /usr/bin/chromium ]; then
    qr_apt_install chromium
  fi
  # Optional for the tests (they skip the real QR decode without it), so a failed install is no failure.
  if [ ! -x /usr/bin/zbarimg ]; then
    qr_apt_install zbar-tools || echo "no zbarimg: the browser tests skip decoding the QR code"
  fi
  if ! command -v npm >/dev/null 2>&1; then
    qr_apt_install nodejs npm
  fi
  if [ -f tests/browser/package-lock.json ]; then
    npm --prefix tests/browser ci --no-audit --no-fund
  else
    npm --prefix tests/browser install --no-audit --no-fund
  fi
  # The screenshots in docs/screenshots are refreshed only when asked (SCREENSHOTS=1), so a test
  # run leaves the work tree as it found it.
  SCREENSHOTS=${SCREENSHOTS:-0} BASE_URL=$base_url ADMIN_TOKEN=$admin_token CHROMIUM_PATH=/usr/bin/chromium \
    npm --prefix tests/browser test
fi

for extra in scripts/test.d/*.sh; do
  [ -e "$extra" ] || continue
  section "$extra"
  if [ ! -x "$extra" ]; then
    echo "skipped: not executable (chmod +x $extra to run it)"
    continue
  fi
  BASE_URL=$base_url ADMIN_TOKEN=$admin_token QUIZROOM_BIN=$bin SERVER_DATABASE_URL=$accept_db_url "$extra"
done

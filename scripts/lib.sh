#!/usr/bin/env bash
# Small helpers shared by scripts/db.sh, scripts/test.sh and scripts/bench.sh (sourced, never run).
# It only defines functions: sourcing it changes no shell option and no variable.

# Installs Debian packages, which works only as root (as in CI and on fresh machines).
# Waits for the dpkg lock that another apt-get may hold instead of failing at once.
qr_apt_install() {
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    printf 'error: %s missing; install it (apt-get install %s) and retry\n' "$*" "$*" >&2
    return 1
  fi
  printf 'installing %s with apt-get\n' "$*" >&2
  local i
  for i in 1 2 3 4 5 6; do
    DEBIAN_FRONTEND=noninteractive apt-get -qq -o DPkg::Lock::Timeout=300 update >/dev/null && break
    [ "$i" = 6 ] && return 1
    sleep 10
  done
  DEBIAN_FRONTEND=noninteractive apt-get -qq -y -o DPkg::Lock::Timeout=600 install "$@" >/dev/null
}

# Succeeds when something accepts TCP connections on host:port (bash's /dev/tcp, 3 s at most).
qr_tcp_open() {
  # shellcheck disable=SC2016 # $1 and $2 are the inner shell's arguments
  timeout 3 bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ "$1" "$2" 2>/dev/null
}

# Prints the HTTP status code of GET http://127.0.0.1:<port><path>, or nothing (no curl needed).
qr_http_status() {
  # shellcheck disable=SC2016 # $1 and $2 are the inner shell's arguments
  timeout 5 bash -c '
    exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
    printf "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%s\r\nConnection: close\r\n\r\n" "$2" "$1" >&3
    read -r _ code _ <&3 && printf "%s" "$code"
  ' _ "$1" "$2" 2>/dev/null || true
}

# The URL $1 with its database replaced by $2 (user, host, port and ?options kept).
qr_with_db() {
  local url=${1%%\?*} query='' rest
  [ "$url" = "$1" ] || query="?${1#*\?}"
  rest=${url#*://}
  printf '%s://%s/%s%s\n' "${url%%://*}" "${rest%%/*}" "$2" "$query"
}

# A TCP port nothing listens on, below Linux's range for outgoing connections.
qr_free_port() {
  local port
  for _ in $(seq 100); do
    port=$((20000 + RANDOM % 12000))
    if ! qr_tcp_open 127.0.0.1 "$port"; then
      echo "$port"
      return 0
    fi
  done
  echo "no free port found" >&2
  return 1
}

# A PostgreSQL tool: from PATH, else from the newest /usr/lib/postgresql/*/bin.
qr_pg_tool() {
  local d
  if command -v "$1" >/dev/null 2>&1; then command -v "$1"; return 0; fi
  for d in $(compgen -G '/usr/lib/postgresql/*/bin' | sort -V -r); do
    if [ -x "$d/$1" ]; then echo "$d/$1"; return 0; fi
  done
  return 1
}

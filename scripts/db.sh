#!/usr/bin/env bash
# Makes sure a PostgreSQL is reachable for quizroom and exports DATABASE_URL.
#
#   . scripts/db.sh          used by scripts/run.sh and scripts/test.sh
#   scripts/db.sh [start]    the same, then prints the URL on stdout
#   scripts/db.sh status     tells whether the project's private cluster runs
#   scripts/db.sh stop       stops the project's private cluster
#
# Which database, first match wins:
#   1. $DATABASE_URL when set; it must answer, else this fails and says so.
#   2. The machine's PostgreSQL on 127.0.0.1:5432, user postgres, trust auth.
#   3. A private cluster of this project (QUIZROOM_PRIVATE_PG=1 skips step 2):
#      Debian's server binaries (installed with apt-get when missing), run as
#      the postgres user when we are root, data in .pgdata/ (or in
#      /tmp/quizroom-pg-<hash> when that user cannot reach the project folder),
#      a unix socket in the data folder plus 127.0.0.1 on the first free port
#      from $QUIZROOM_PG_PORT (54329). It keeps running after this script and
#      is reused by the next call; `scripts/db.sh stop` stops it.
# The database itself (quizroom) need not exist: the server creates it.
#
# Sourced, this changes no shell option of the caller and leaves no variable
# but DATABASE_URL; it fails with `return 1`, so `set -e` callers stop there.

if ! (return 0 2>/dev/null); then
  set -euo pipefail
fi

# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

_qr_say() { printf 'db.sh: %s\n' "$*" >&2; }

# The URL with its password (if any) replaced by ***, for messages.
_qr_mask() { printf '%s' "$1" | sed -E 's#^([A-Za-z][A-Za-z0-9+.-]*://[^:/@]*):[^@/]*@#\1:***@#'; }

_qr_root() { (cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd); }

_qr_is_root() { [ "$(id -u)" = 0 ]; }

# The newest folder with the server's binaries (a client-only install has psql there but no initdb).
_qr_server_bindir() {
  local d
  for d in $(compgen -G '/usr/lib/postgresql/*/bin' | sort -V -r); do
    if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && [ -x "$d/postgres" ]; then echo "$d"; return 0; fi
  done
  return 1
}

# Runs a command as the cluster's owner: the postgres user when we are root
# (PostgreSQL refuses to run as root), ourselves otherwise. From / so that a
# current folder the postgres user cannot read does not trouble initdb.
_qr_as_pg() {
  if _qr_is_root; then
    (cd / && runuser -u postgres -- "$@")
  else
    "$@"
  fi
}

# Is the server behind this URL accepting connections?
_qr_url_reachable() {
  local url=$1 isready rest host port
  if isready=$(qr_pg_tool pg_isready); then
    "$isready" -q -t 5 -d "$url" >/dev/null 2>&1
    return
  fi
  # No client tools: probe host:port of a postgres://user:pw@host:port/db URL.
  rest=${url#*://}
  rest=${rest##*@}
  rest=${rest%%[/?]*}
  case $rest in
    \[*\]:*) host=${rest%%]*}; host=${host#[}; port=${rest##*]:} ;;
    \[*\]) host=${rest#[}; host=${host%]}; port=5432 ;;
    *:*) host=${rest%:*}; port=${rest##*:} ;;
    *) host=$rest; port=5432 ;;
  esac
  if [ -z "$host" ]; then
    _qr_say "cannot check $(_qr_mask "$url") without pg_isready (apt-get install postgresql-client); trying it anyway"
    return 0
  fi
  qr_tcp_open "$host" "$port"
}

# Does the machine's PostgreSQL answer on 127.0.0.1:5432, and let user postgres in without a password?
_qr_machine_pg() {
  local psql isready
  if psql=$(qr_pg_tool psql); then
    if PGCONNECT_TIMEOUT=5 "$psql" -X -w -q -At -h 127.0.0.1 -p 5432 -U postgres -d postgres \
      -c 'select 1' >/dev/null 2>&1; then
      return 0
    fi
    if qr_tcp_open 127.0.0.1 5432; then
      _qr_say "127.0.0.1:5432 answers but does not let user postgres in without a password; using a private cluster"
    fi
    return 1
  fi
  if isready=$(qr_pg_tool pg_isready); then
    "$isready" -q -t 5 -h 127.0.0.1 -p 5432 -U postgres >/dev/null 2>&1
    return
  fi
  qr_tcp_open 127.0.0.1 5432
}

# Where the private cluster keeps its data: .pgdata/ in the project, unless
# the postgres user cannot reach it or the socket path would be too long for
# a unix socket (108 bytes); then a folder in /tmp named after the project path.
_qr_private_dir() {
  local root dir
  root=$(_qr_root)
  dir=$root/.pgdata
  if [ $((${#dir} + 18)) -gt 100 ] || { _qr_is_root && ! _qr_as_pg test -x "$root"; }; then
    dir=/tmp/quizroom-pg-$(printf '%s' "$root" | sha256sum | cut -c1-12)
  fi
  printf '%s\n' "$dir"
}

# The bin folder that matches an existing cluster's major version (or the newest one for a new cluster).
_qr_cluster_bindir() {
  local dir=$1 version
  if [ -s "$dir/PG_VERSION" ]; then
    version=$(cat "$dir/PG_VERSION")
    if [ -x "/usr/lib/postgresql/$version/bin/pg_ctl" ]; then
      echo "/usr/lib/postgresql/$version/bin"
      return 0
    fi
    _qr_say "error: $dir was made by PostgreSQL $version, whose server is not installed; install postgresql-$version or remove $dir"
    return 1
  fi
  _qr_server_bindir
}

_qr_cluster_running() {
  [ -f "$1/postmaster.pid" ] && _qr_as_pg "$2/pg_ctl" -D "$1" status >/dev/null 2>&1
}

_qr_private_start() {
  local dir port lockfd tries=0 owner
  if ! _qr_server_bindir >/dev/null; then
    qr_apt_install postgresql || { _qr_say "error: could not install PostgreSQL; set DATABASE_URL to a server you run"; return 1; }
    _qr_server_bindir >/dev/null || { _qr_say "error: no PostgreSQL server binaries under /usr/lib/postgresql"; return 1; }
  fi
  if _qr_is_root && ! id -u postgres >/dev/null 2>&1; then
    useradd --system --user-group --home-dir /var/lib/postgresql --no-create-home --shell /bin/bash postgres ||
      { _qr_say "error: could not create the postgres user"; return 1; }
  fi

  dir=$(_qr_private_dir)
  mkdir -p "$dir" || return 1
  if _qr_is_root; then
    owner=$(stat -c %U "$dir")
    if [ "$owner" != postgres ]; then
      if [ -n "$(ls -A "$dir")" ]; then
        _qr_say "error: $dir belongs to $owner, not postgres; remove it and retry"
        return 1
      fi
      chown postgres: "$dir" || return 1
    fi
  fi
  chmod 700 "$dir" || return 1

  # One caller at a time sets the cluster up (run.sh and test.sh may start together).
  exec {lockfd}<"$dir"
  if ! flock -w 120 "$lockfd"; then
    exec {lockfd}<&-
    _qr_say "error: another process holds the lock on $dir"
    return 1
  fi
  if ! _qr_private_start_locked "$dir"; then
    exec {lockfd}<&-
    return 1
  fi
  exec {lockfd}<&-

  port=$(sed -n 4p "$dir/postmaster.pid")
  # A cluster that another call has just started may still be starting up.
  until qr_tcp_open 127.0.0.1 "$port"; do
    tries=$((tries + 1))
    if [ "$tries" -gt 30 ]; then
      _qr_say "error: the private cluster in $dir does not answer on port $port; see $dir/server.log"
      return 1
    fi
    sleep 1
  done
  export DATABASE_URL="postgres://postgres@127.0.0.1:$port/quizroom"
  _qr_say "using the private PostgreSQL cluster in $dir on 127.0.0.1:$port (stop it: scripts/db.sh stop)"
}

_qr_private_start_locked() {
  local dir=$1 bindir port out
  bindir=$(_qr_cluster_bindir "$dir") || return 1
  if [ ! -s "$dir/PG_VERSION" ]; then
    _qr_say "creating a private PostgreSQL cluster in $dir"
    if ! out=$(_qr_as_pg "$bindir/initdb" -D "$dir" -U postgres --auth=trust --encoding=UTF8 --no-locale 2>&1); then
      _qr_say "error: initdb failed:"
      printf '%s\n' "$out" >&2
      return 1
    fi
    printf '\n# quizroom (scripts/db.sh): port, socket folder and addresses are set at each start\n%s\n%s\n%s\n' \
      "include_if_exists = 'quizroom.conf'" "fsync = on" "max_connections = 200" >>"$dir/postgresql.conf"
  fi
  if _qr_cluster_running "$dir" "$bindir"; then
    return 0
  fi
  port=${QUIZROOM_PG_PORT:-54329}
  while qr_tcp_open 127.0.0.1 "$port"; do
    port=$((port + 1))
    if [ "$port" -ge $((${QUIZROOM_PG_PORT:-54329} + 10)) ]; then
      _qr_say "error: no free port from ${QUIZROOM_PG_PORT:-54329} to $((port - 1)) for the private cluster; set QUIZROOM_PG_PORT"
      return 1
    fi
  done
  # Rewritten at each start, so a moved project folder or a taken port do no harm.
  printf "port = %s\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '%s'\n" \
    "$port" "${dir//\'/\'\'}" | _qr_as_pg tee "$dir/quizroom.conf" >/dev/null || return 1
  # The server must not inherit the lock's descriptor ($lockfd of the caller), or it would hold the lock.
  if ! _qr_as_pg "$bindir/pg_ctl" -D "$dir" -l "$dir/server.log" -w -t 60 start >/dev/null {lockfd}<&-; then
    _qr_say "error: the private cluster in $dir did not start; the end of $dir/server.log:"
    tail -n 20 "$dir/server.log" >&2
    return 1
  fi
}

_qr_private_stop() {
  local dir bindir
  dir=$(_qr_private_dir)
  if [ ! -s "$dir/PG_VERSION" ] || ! bindir=$(_qr_cluster_bindir "$dir") || ! _qr_cluster_running "$dir" "$bindir"; then
    _qr_say "no private cluster runs in $dir"
    return 0
  fi
  _qr_as_pg "$bindir/pg_ctl" -D "$dir" -m fast -w stop >/dev/null && _qr_say "stopped the private cluster in $dir"
}

_qr_private_status() {
  local dir bindir
  dir=$(_qr_private_dir)
  if [ -s "$dir/PG_VERSION" ] && bindir=$(_qr_cluster_bindir "$dir") && _qr_cluster_running "$dir" "$bindir"; then
    echo "the private cluster in $dir runs on 127.0.0.1:$(sed -n 4p "$dir/postmaster.pid")"
  else
    echo "no private cluster runs in $dir"
    return 3
  fi
}

_qr_db_ensure() {
  if [ -n "${DATABASE_URL:-}" ]; then
    if _qr_url_reachable "$DATABASE_URL"; then
      export DATABASE_URL
      _qr_say "using DATABASE_URL=$(_qr_mask "$DATABASE_URL")"
      return 0
    fi
    _qr_say "error: cannot reach the PostgreSQL of DATABASE_URL=$(_qr_mask "$DATABASE_URL")"
    _qr_say "start that server, or unset DATABASE_URL to use 127.0.0.1:5432 or a private cluster"
    return 1
  fi
  if [ "${QUIZROOM_PRIVATE_PG:-0}" != 1 ] && _qr_machine_pg; then
    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/quizroom
    _qr_say "using the machine's PostgreSQL on 127.0.0.1:5432 (user postgres)"
    return 0
  fi
  _qr_private_start
}

_qr_db_cleanup() {
  unset -f _qr_say _qr_mask _qr_root _qr_is_root _qr_server_bindir _qr_as_pg \
    _qr_url_reachable _qr_machine_pg _qr_private_dir _qr_cluster_bindir _qr_cluster_running \
    _qr_private_start _qr_private_start_locked _qr_private_stop _qr_private_status _qr_db_ensure \
    _qr_db_cleanup
}

if (return 0 2>/dev/null); then
  if _qr_db_ensure; then
    _qr_db_cleanup
  else
    _qr_db_cleanup
    return 1
  fi
else
  case ${1:-start} in
    start) _qr_db_ensure && printf '%s\n' "$DATABASE_URL" ;;
    stop) _qr_private_stop ;;
    status) _qr_private_status ;;
    *)
      echo "usage: scripts/db.sh [start|status|stop]" >&2
      exit 2
      ;;
  esac
fi

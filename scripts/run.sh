#!/usr/bin/env bash
# The project's one "run the server" command: finds or starts a PostgreSQL
# (scripts/db.sh), then builds and runs the release server.
#   usage: scripts/run.sh [server args]
# Settings come from the environment, then from .env (which never overrides the
# environment); .env.example lists them. Defaults here: QUIZROOM_ADDR=127.0.0.1:8080
# and a random ADMIN_TOKEN, printed so that the admin page can be used.
set -euo pipefail
cd "$(dirname "$0")/.."

# .env first, so that a DATABASE_URL written there is the one db.sh checks.
if [ -f .env ]; then
  while IFS= read -r line || [ -n "$line" ]; do
    line=${line%$'\r'}
    case $line in '' | '#'*) continue ;; esac
    line=${line#export }
    key=${line%%=*}
    # Only KEY=VALUE lines, and never over a variable the environment already has.
    if [ "$key" = "$line" ] || ! [[ $key =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || [ -n "${!key+set}" ]; then
      continue
    fi
    value=${line#*=}
    case $value in
      \"*\") value=${value#\"}; value=${value%\"} ;;
      \'*\') value=${value#\'}; value=${value%\'} ;;
    esac
    export "$key=$value"
  done <.env
fi

# shellcheck source=scripts/db.sh
. scripts/db.sh

export QUIZROOM_ADDR=${QUIZROOM_ADDR:-127.0.0.1:8080}
if [ -z "${ADMIN_TOKEN:-}" ]; then
  ADMIN_TOKEN=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
  export ADMIN_TOKEN
  echo "run.sh: serving http://$QUIZROOM_ADDR/ with the admin token $ADMIN_TOKEN (set ADMIN_TOKEN to choose one)" >&2
else
  echo "run.sh: serving http://$QUIZROOM_ADDR/ with the ADMIN_TOKEN you set" >&2
fi

# The build never needs a database: sqlx's checked queries come from .sqlx/.
export SQLX_OFFLINE=${SQLX_OFFLINE:-true}
# glibc tunable: allocations of 8 KiB and more get pages of their own, so the part of each
# connection's 8 KiB HTTP buffers that is never written is never resident (docs/benchmarks.md:
# 15.8 instead of 16.4 KiB per connected player). For the server only: the compiler, which
# makes many large allocations, builds without it (even when .env sets it).
mmap_threshold=${MALLOC_MMAP_THRESHOLD_:-8192}
env -u MALLOC_MMAP_THRESHOLD_ cargo build --release --bin quizroom
MALLOC_MMAP_THRESHOLD_=$mmap_threshold exec "${CARGO_TARGET_DIR:-target}/release/quizroom" "$@"

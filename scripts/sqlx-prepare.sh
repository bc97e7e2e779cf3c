#!/usr/bin/env bash
# Regenerates .sqlx/ (the offline query data that lets every build run with SQLX_OFFLINE=true):
# applies migrations/ to a scratch database, then rebuilds with the sqlx macros writing their
# data. Run it after changing any SQL in src/store or any migration, and commit .sqlx/.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/db.sh
base=${DATABASE_URL%/*}
scratch=quizroom_sqlx_prepare
psql -q "$base/postgres" -c "DROP DATABASE IF EXISTS $scratch" -c "CREATE DATABASE $scratch"
for f in migrations/*.sql; do
  psql -q -v ON_ERROR_STOP=1 "$base/$scratch" -f "$f"
done
rm -rf .sqlx && mkdir -p .sqlx
touch src/lib.rs
SQLX_OFFLINE=false SQLX_OFFLINE_DIR="$PWD/.sqlx" DATABASE_URL="$base/$scratch" cargo build --all-targets
psql -q "$base/postgres" -c "DROP DATABASE $scratch"
echo "wrote $(ls .sqlx | wc -l) query files to .sqlx/" >&2

#!/usr/bin/env bash
# Property-based test of the REST API against its OpenAPI description (src/http/openapi.json,
# served at /api/openapi.json): Schemathesis generates requests from the description, runs
# them against the live server and fails on any 5xx or any response (status, content type,
# headers, body) that the description does not allow. Settings and the reasons for each
# check are in tests/openapi/schemathesis.toml; how to run it by hand: tests/openapi/README.md.
#
# scripts/test.sh runs it after starting the release server, with BASE_URL and ADMIN_TOKEN.
# Optional: SCHEMATHESIS_SEED (the run is reproducible from it), SCHEMATHESIS_MAX_EXAMPLES
# (per operation and phase), SCHEMATHESIS_VENV, SCHEMATHESIS_TIMEOUT (seconds, whole run).
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD

: "${BASE_URL:?BASE_URL must name the running server, e.g. http://127.0.0.1:8080}"
: "${ADMIN_TOKEN:?ADMIN_TOKEN must be the admin token of the server}"
export ADMIN_TOKEN # read by tests/openapi/schemathesis.toml
seed=${SCHEMATHESIS_SEED:-20261127}
max_examples=${SCHEMATHESIS_MAX_EXAMPLES:-100}
time_limit=${SCHEMATHESIS_TIMEOUT:-600}
requirements=$root/tests/openapi/requirements.txt
venv=${SCHEMATHESIS_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/quizroom-schemathesis-venv}

# A virtual environment outside the repository, (re)installed when the pin changes.
stamp=$venv/.quizroom-requirements
if [ ! -x "$venv/bin/st" ] || ! cmp -s "$requirements" "$stamp"; then
  if ! python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    echo "Schemathesis needs Python 3.11 or newer; python3 is $(python3 --version 2>&1)" >&2
    exit 1
  fi
  echo "installing $(paste -sd " " "$requirements") into $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check -r "$requirements"
  cp "$requirements" "$stamp"
fi

# Schemathesis may leave files in its working directory; keep them out of the repository.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"

echo "schemathesis $("$venv/bin/st" --version | sed 's/.*version //') against $BASE_URL," \
  "seed $seed, at most $max_examples examples per operation and phase"
start=$SECONDS
rc=0
timeout "$time_limit" "$venv/bin/st" --config-file "$root/tests/openapi/schemathesis.toml" \
  run "$BASE_URL/api/openapi.json" \
  --url "$BASE_URL" \
  --wait-for-schema 30 \
  --seed "$seed" \
  --max-examples "$max_examples" \
  --request-timeout 10 \
  --no-color || rc=$?
echo "schemathesis finished in $((SECONDS - start)) s with exit code $rc"
if [ "$rc" = 124 ]; then
  echo "schemathesis did not finish within ${time_limit} s"
fi
exit "$rc"

#!/usr/bin/env bash
# Property-based tests of the admin API from its OpenAPI document: schemathesis (PyPI)
# against the system scripts/up.sh started (real Postgres and NATS), every endpoint,
# with positive and negative data (tests/schemathesis/schemathesis.toml). Prints how
# many cases it generated and how many operations it covered; fails on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/deps.sh
ensure_schemathesis
source .run/admin.env

api() { # METHOD PATH [BODY]: the answer's JSON
  curl -fsS -X "$1" -H "Authorization: Bearer $ADMIN_TOKEN" -H 'Content-Type: application/json' \
    ${3:+-d "$3"} "$ADMIN_URL/admin/v1$2"
}
field() { # KEY…: the answer's value at that path
  python3 -c 'import json, sys
d = json.load(sys.stdin)
for key in sys.argv[1:]: d = d[key]
print(d)' "$@"
}

run=$(date +%s)-$$
export ST_DIRECTORY ST_DOOMED_DIRECTORY ST_TEAM ST_DOOMED_TEAM ST_TOKEN ST_LINK ADMIN_TOKEN
ST_DIRECTORY=$(api POST /directories "{\"name\": \"schemathesis $run\"}" | field id)
ST_DOOMED_DIRECTORY=$(api POST /directories "{\"name\": \"schemathesis doomed $run\"}" | field id)
ST_TEAM=$(api POST "/directories/$ST_DIRECTORY/teams" '{"name": "Support"}' | field id)
ST_DOOMED_TEAM=$(api POST "/directories/$ST_DIRECTORY/teams" '{"name": "Doomed"}' | field id)
ST_TOKEN=$(api POST "/directories/$ST_DIRECTORY/tokens" | field id)
ST_LINK=$(api POST "/directories/$ST_DIRECTORY/setup-links" | field link id)

status=0
"$SCHEMATHESIS" --config-file tests/schemathesis/schemathesis.toml run \
  docs/admin-api.openapi.json --url "$ADMIN_URL" >.run/schemathesis.log 2>&1 || status=$?
if [ "$status" != 0 ]; then cat .run/schemathesis.log; fi
tested=$(grep -oE 'Tested: [0-9]+' .run/schemathesis.log | grep -oE '[0-9]+' || echo 0)
cases=$(grep -oE '[0-9]+ generated' .run/schemathesis.log | grep -oE '[0-9]+' || echo 0)
echo "admin API (schemathesis): $cases cases generated over $tested operations; \
$([ "$status" = 0 ] && echo "all passed" || echo "FAILED"), full report .run/schemathesis.log"
exit "$status"

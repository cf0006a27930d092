#!/usr/bin/env bash
# Runs the two external conformance suites in ../shared/conformance against a running
# system (scripts/up.sh), each on a directory of its own:
#   - scim2-tester (pinned below): every check must pass, none skipped (it tests
#     every resource type /ResourceTypes lists: Users and Groups);
#   - Okta's SCIM 2.0 SPEC test: every step must pass;
#   - Okta's SCIM 2.0 Entitlements test, on each roles or entitlements endpoint an Okta
#     directory's /ResourceTypes lists: every step must pass.
# Creates its directories through the admin API: ADMIN_URL and ADMIN_TOKEN, by default
# from .run/admin.env as up.sh wrote it.
set -euo pipefail
cd "$(dirname "$0")/.."
SCIM2_TESTER_VERSION=0.5.2
SUITES=${SUITES:-../shared/conformance}
SCIM_TOOLS=${SCIM_TOOLS:-$HOME/.cache/scim-tools}
BIN=${BIN:-target/debug}

venv="$SCIM_TOOLS/venv-scim2-tester"
if ! "$venv/bin/python" -c "import scim2_tester" 2>/dev/null \
   || [ "$("$venv/bin/python" -c 'import importlib.metadata as m; print(m.version("scim2-tester"))')" != "$SCIM2_TESTER_VERSION" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check "scim2-tester[httpx2]==$SCIM2_TESTER_VERSION"
fi

[ -n "${ADMIN_TOKEN:-}" ] || . .run/admin.env
# A fresh directory per suite and run (names are unique per deployment).
directory() { SCIMCTL_ACTOR=conformance.sh "$BIN/scimctl" directory create --name "$1 $(date -u +%Y%m%dT%H%M%S.%N)" "${@:2}" --json; }
field() { python3 -c "import json,sys; d=json.load(sys.stdin); print(d['scim_base_url'] if '$1' == 'scim_base_url' else d['token']['token'])"; }

d=$(directory conformance-scim2-tester)
"$venv/bin/python" "$SUITES/run_scim2_tester.py" --url "$(field scim_base_url <<<"$d")" --token "$(field token <<<"$d")" \
  >/tmp/scim2-tester.out || true
echo "scim2-tester -> $(tail -1 /tmp/scim2-tester.out)"
tail -1 /tmp/scim2-tester.out | grep -Eq '^[0-9]+ passed, 0 failed, 0 skipped$' \
  || { grep -E '^(FAIL|SKIP)' -A1 /tmp/scim2-tester.out >&2; echo "scim2-tester: not every check passed" >&2; exit 1; }

d=$(directory conformance-okta-spec)
python3 "$SUITES/okta/run_okta_spec.py" --base-url "$(field scim_base_url <<<"$d")" --token "$(field token <<<"$d")" \
  --seed-user >/tmp/okta-spec.out || true
echo "Okta SPEC test -> $(tail -1 /tmp/okta-spec.out)"
if ! tail -1 /tmp/okta-spec.out | grep -Eq '^[0-9]+ passed, 0 failed$'; then
  echo "Okta SPEC test: not every step passed:" >&2
  grep -E '^FAIL ' -A1 /tmp/okta-spec.out >&2
  exit 1
fi
# Okta's Entitlements test, on every endpoint an Okta directory's /ResourceTypes lists
# besides /Users and /Groups (Okta Identity Governance imports them).
d=$(directory conformance-okta-entitlements --idp okta)
base=$(field scim_base_url <<<"$d"); token=$(field token <<<"$d")
endpoints=$(python3 - "$base" "$token" <<'PY'
import json, sys, urllib.request
req = urllib.request.Request(sys.argv[1] + "/ResourceTypes", headers={"Authorization": "Bearer " + sys.argv[2]})
types = json.load(urllib.request.urlopen(req))["Resources"]
print(" ".join(t["endpoint"] for t in types if t["endpoint"] not in ("/Users", "/Groups")))
PY
)
[ -n "$endpoints" ] || { echo "Okta entitlements: /ResourceTypes lists no roles or entitlements" >&2; exit 1; }
for endpoint in $endpoints; do
  python3 "$SUITES/okta/run_okta_spec.py" --test "$SUITES/okta/Okta-SCIM-20-Entitlements-Test.json" \
    --base-url "$base" --token "$token" --var "EntitlementEndpoint=$endpoint" >/tmp/okta-entitlements.out || true
  echo "Okta Entitlements test on $endpoint -> $(tail -1 /tmp/okta-entitlements.out)"
  if ! tail -1 /tmp/okta-entitlements.out | grep -Eq '^[0-9]+ passed, 0 failed$'; then
    echo "Okta Entitlements test on $endpoint: not every step passed:" >&2
    grep -E '^FAIL ' -A1 /tmp/okta-entitlements.out >&2
    exit 1
  fi
done
echo "conformance: scim2-tester all checks, Okta SPEC all steps, Okta Entitlements on $endpoints"

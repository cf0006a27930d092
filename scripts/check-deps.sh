#!/usr/bin/env bash
# Fails when a crate of the workspace declares a dependency its code never names: an
# unused dependency costs every build and hides what a crate really needs. A dependency
# counts as used when its name (with `_` for `-`) appears as a path (`name::`), in a
# `use`, or as a macro (`name!`): a [dependencies] entry in the crate's src/, a
# [dev-dependencies] entry there or in its tests/, benches/ or examples/. A dependency
# only tests name belongs in [dev-dependencies].
set -euo pipefail
cd "$(dirname "$0")/.."
status=0
for manifest in $(git ls-files '*Cargo.toml' | grep -v '^fuzz/'); do
  dir=$(dirname "$manifest")
  [ "$dir" = . ] && continue
  for section in dependencies dev-dependencies; do
    deps=$(sed -n "/^\[$section\]/,/^\[/p" "$manifest" | grep -oE '^[A-Za-z0-9_-]+' || true)
    for dep in $deps; do
      name=${dep//-/_}
      places=("$dir"/src)
      [ "$section" = dev-dependencies ] && places+=("$dir"/tests "$dir"/benches "$dir"/examples)
      if ! grep -rqE "\b${name}::|use ${name}\b|\b${name}!" "${places[@]}" 2>/dev/null; then
        echo "$manifest: [$section] $dep is never used" >&2
        status=1
      fi
    done
  done
done
[ "$status" = 0 ] && echo "dependencies: every declared dependency is used"
exit "$status"

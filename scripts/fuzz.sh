#!/usr/bin/env bash
# Fuzzes what a client's bytes reach first: the filter parser and compilers (filter),
# the PATCH engines (patch), user and group normalization (normalize), and what the
# request log keeps of a query string (query). Each target
# runs FUZZ_SECONDS (default 60) from the seeds in fuzz/seeds/ (Okta and Entra request
# shapes from the golden fixtures, and filters) plus what earlier runs found
# (fuzz/corpus/, not committed).
#
#   scripts/fuzz.sh [target...]
#
# A crash is saved under fuzz/artifacts/<target>/ and the script fails. Turn it into a
# regression test: add the input to the unit tests of the module that panicked, fix,
# and keep the test.
#
# Runs on the stable toolchain with --sanitizer none: the code is safe Rust, so what
# the fuzzer looks for is panics, which need no sanitizer.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v cargo-fuzz >/dev/null || cargo install --locked cargo-fuzz
seconds=${FUZZ_SECONDS:-60}
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(filter patch normalize query)

# Seeds: the request bodies of the golden fixtures, as the identity providers send them.
python3 - <<'PY'
import glob, json, os
for t in ("patch", "normalize"):
    os.makedirs(f"fuzz/seeds/{t}", exist_ok=True)
for path in sorted(glob.glob("tests/fixtures/*/*.json")):
    steps = json.load(open(path)).get("steps", [])
    for i, step in enumerate(steps):
        req = step.get("request", {})
        body = req.get("body")
        if body is None:
            continue
        target = "patch" if req.get("method") == "PATCH" else "normalize"
        name = f"{os.path.basename(path)[:-5]}-{i}"
        with open(f"fuzz/seeds/{target}/{name}", "w") as f:
            json.dump(body, f)
PY

for target in "${targets[@]}"; do
  mkdir -p "fuzz/corpus/$target"
  echo "fuzzing $target for ${seconds}s"
  cargo fuzz run --fuzz-dir fuzz --sanitizer none "$target" "fuzz/corpus/$target" "fuzz/seeds/$target" -- \
    -max_total_time="$seconds" -max_len=8192 -print_final_stats=1 2>&1 | tail -12
done

#!/usr/bin/env bash
# The speed benchmark of issue 5: nn and PyTorch (CPU) on the same workload, alternating, with 1
# and 2 threads; prints a Markdown table of medians and ratios, then one JSON line per run and
# figure. Creates the PyTorch virtualenv if needed (tools/setup_venv.sh).
#
#   bash tools/bench_speed.sh                 # 3 rounds
#   bash tools/bench_speed.sh --rounds 5
#   bash tools/bench_speed.sh --busy-core     # also with the last core kept busy (issue 19): one
#                                            # table, both loads, median and worst of the rounds
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="$(bash tools/setup_venv.sh | tail -n 1)"
# The executable of the `nn-bench` bench named $1, built if needed.
bench_executable() {
    cargo bench -p nn-bench --bench "$1" --no-run --message-format=json 2>/dev/null \
        | "$PYTHON" -c 'import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == sys.argv[1] and m.get("executable"):
        print(m["executable"])' "$1"
}
NN_BIN="$(bench_executable speed)"
CROSS_CORE_BIN="$(bench_executable cross_core)"
exec "$PYTHON" tools/bench_speed.py --nn-bin "$NN_BIN" --cross-core-bin "$CROSS_CORE_BIN" --python "$PYTHON" "$@"

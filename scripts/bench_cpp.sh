#!/usr/bin/env bash
# Export the Malade chain, build cpp_bench (LibTorch + ONNX Runtime harnesses), time both, and compare
# with Python timing the same files. C++ and Python runs alternate, ROUNDS times, so the machine's
# drift hits both sides alike; compare.md gives the median over rounds of each side's median.
#   scripts/bench_cpp.sh [--steps N] [--batches "1 64"] [--reps R] [--threads T] [--rounds K] [--out-dir DIR]
# Env: PYTHON (default python3), ONNXRUNTIME_ROOT (default: assembled by cpp_bench/fetch_ort_root.sh).
# Writes DIR/cpp.jsonl and DIR/python.jsonl (one JSON line per run) and DIR/compare.md; DIR defaults
# to results/bench_cpp.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
command="scripts/bench_cpp.sh $*"
steps=10 batches="1 64" reps=20 warmup=3 threads=1 rounds=3 out=results/bench_cpp
while [ $# -gt 0 ]; do
  case "$1" in
    --steps) steps="$2"; shift 2 ;;
    --batches) batches="$2"; shift 2 ;;
    --reps) reps="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --rounds) rounds="$2"; shift 2 ;;
    --out-dir) out="$2"; shift 2 ;;
    -h|--help) sed -n 2,8p "$0"; exit 0 ;;
    *) echo "bench_cpp.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
work="$out/work"
mkdir -p "$work"

echo "== export N=$steps to $work"
"$PYTHON" - "$work" "$steps" <<'PY'
import sys
from pathlib import Path

from malade_export.bench.artifacts import bench_checkpoints, export_chain
from malade_export.chain import load_defense

work = Path(sys.argv[1])
classifier, sdae, source = bench_checkpoints(work)
export_chain(load_defense(classifier, sdae, steps=int(sys.argv[2])), work)
print(source)
PY

echo "== build cpp_bench"
ort_root="${ONNXRUNTIME_ROOT:-$(cpp_bench/fetch_ort_root.sh "" "$PYTHON" || true)}"
cmake -S cpp_bench -B cpp_bench/build -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$("$PYTHON" -c 'import torch;print(torch.utils.cmake_prefix_path)')" \
  -DONNXRUNTIME_ROOT="$ort_root" 2>&1 | grep -E "bench_(libtorch|ort)|Error" || true
cmake --build cpp_bench/build -j2

echo "== run (threads=$threads, reps=$reps, $rounds rounds of C++ then Python)"
: > "$out/cpp.jsonl"
: > "$out/python.jsonl"
time_pair() {  # time_pair HARNESS BINARY MODEL BATCH: the C++ run, then Python on the same file
  local args=(--batch "$4" --reps "$reps" --warmup "$warmup" --threads "$threads")
  "$2" "$3" "${args[@]}" | tee -a "$out/cpp.jsonl"
  "$PYTHON" -m malade_export.bench.cpp_compare time "$1" "$work" --steps "$steps" "${args[@]}" | tee -a "$out/python.jsonl"
}
for round in $(seq "$rounds"); do
  echo "-- round $round/$rounds"
  for batch in $batches; do
    [ -x cpp_bench/build/bench_libtorch ] && time_pair libtorch cpp_bench/build/bench_libtorch "$work/malade_n$steps.pt" "$batch"
    if [ -x cpp_bench/build/bench_ort ]; then
      time_pair onnxruntime cpp_bench/build/bench_ort "$work/malade_n$steps.onnx" "$batch"
      time_pair onnxruntime-seed cpp_bench/build/bench_ort "$work/malade_n${steps}_seed.onnx" "$batch"
    fi
  done
done
[ -x cpp_bench/build/bench_ort ] || echo "bench_ort: not built: no ONNX Runtime C++ headers (set ONNXRUNTIME_ROOT)"

echo "== compare"
"$PYTHON" -m malade_export.bench.cpp_compare compare "$out" --command "$command"

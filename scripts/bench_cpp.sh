#!/usr/bin/env bash
# Export the Malade chain, build cpp_bench (LibTorch + ONNX Runtime harnesses), time both, and compare
# with Python timing the same files.
#   scripts/bench_cpp.sh [--steps N] [--batches "1 64"] [--reps R] [--threads T] [--out-dir DIR]
# Env: PYTHON (default python3), ONNXRUNTIME_ROOT (default: assembled by cpp_bench/fetch_ort_root.sh).
# Writes DIR/cpp.jsonl (one JSON line per C++ run) and DIR/compare.md; DIR defaults to results/bench_cpp.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
steps=10 batches="1 64" reps=20 warmup=3 threads=1 out=results/bench_cpp
while [ $# -gt 0 ]; do
  case "$1" in
    --steps) steps="$2"; shift 2 ;;
    --batches) batches="$2"; shift 2 ;;
    --reps) reps="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --out-dir) out="$2"; shift 2 ;;
    -h|--help) sed -n 2,7p "$0"; exit 0 ;;
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
from malade_export.loading import load_defense

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

echo "== run (threads=$threads, reps=$reps)"
: > "$out/cpp.jsonl"
for batch in $batches; do
  args=(--batch "$batch" --reps "$reps" --warmup "$warmup" --threads "$threads")
  [ -x cpp_bench/build/bench_libtorch ] && cpp_bench/build/bench_libtorch "$work/malade_n$steps.pt" "${args[@]}" | tee -a "$out/cpp.jsonl"
  if [ -x cpp_bench/build/bench_ort ]; then
    cpp_bench/build/bench_ort "$work/malade_n$steps.onnx" "${args[@]}" | tee -a "$out/cpp.jsonl"
    cpp_bench/build/bench_ort "$work/malade_n${steps}_seed.onnx" "${args[@]}" | tee -a "$out/cpp.jsonl"
  fi
done
[ -x cpp_bench/build/bench_ort ] || echo "bench_ort: not built: no ONNX Runtime C++ headers (set ONNXRUNTIME_ROOT)"

echo "== compare with Python on the same files"
"$PYTHON" - "$out" <<'PY'
import sys
from pathlib import Path

from malade_export.bench.cpp_compare import compare_with_python, read_cpp_rows

out = Path(sys.argv[1])
table = compare_with_python(read_cpp_rows(out / "cpp.jsonl"), out / "work")
(out / "compare.md").write_text(table)
print(table, end="")
PY

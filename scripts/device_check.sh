#!/usr/bin/env bash
# One command for a GPU machine: install the package (no dependencies, nothing downloaded), time Malade
# N = 10, 25, 50 at batch 1, 64, 1024 in PyTorch CUDA eager, CUDA graphs, TorchScript and torch.compile
# (fp32, bf16, fp16), the LibTorch C++ harness on CUDA, Defense-GAN (L = 200, R = 1 and 10) on CUDA,
# the GPU's matmul peaks, and every backend's logits against ONNX Runtime CPU under the same noise.
#   scripts/device_check.sh OUT_DIR [--short]
# Writes OUT_DIR/device_check.{json,md,png} and OUT_DIR/device_check.log, whatever fails on the way.
# Each part runs under its own time box inside an overall budget (DEVICE_CHECK_BUDGET_S, default 450 s,
# under 8 minutes); a part that fails or runs out of time is recorded and the rest go on.
# --short: N = 10 and batch 1 only, few repetitions, no C++ build: the CPU machine's test mode.
# On a machine without CUDA every GPU part is skipped with its reason. Env: PYTHON (default python3),
# DEVICE_CHECK_WORK (scratch folder, default a fresh one under /tmp; never inside OUT_DIR),
# DEVICE_CHECK_PARTS (a rerun of some parts only, e.g. "cpp,accuracy"; install and env always run).
set -uo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
[ $# -ge 1 ] && [ "${1#-}" = "$1" ] || { sed -n 2,13p "$0"; exit 2; }
out="$1"; shift
short=0
for arg in "$@"; do
  case "$arg" in
    --short) short=1 ;;
    *) echo "device_check.sh: unknown argument $arg" >&2; exit 2 ;;
  esac
done
PYTHON="${PYTHON:-python3}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"
work="${DEVICE_CHECK_WORK:-$(mktemp -d /tmp/device_check.XXXXXX)}"
mkdir -p "$work/parts"
log="$out/device_check.log"
: > "$log"
budget="${DEVICE_CHECK_BUDGET_S:-450}"
started_epoch="$(date +%s)"
t0=$SECONDS
command="scripts/device_check.sh $out${*:+ $*}"
echo "device_check: out=$out work=$work budget=${budget}s short=$short" | tee -a "$log"

# part NAME BOX CMD...: run CMD under min(BOX, what the budget has left minus 30 s for the report);
# NAME.rc gets "rc seconds box note". rc 99 = skipped (note says why), 124/137 = stopped at the box.
part() {
  local name="$1" want="$2"; shift 2
  case "$name" in install|env) ;; *)
    if [ -n "${DEVICE_CHECK_PARTS:-}" ] && [[ ",$DEVICE_CHECK_PARTS," != *",$name,"* ]]; then
      skip "$name" "not among DEVICE_CHECK_PARTS=$DEVICE_CHECK_PARTS"
      return
    fi ;;
  esac
  local left=$(( budget - (SECONDS - t0) - 30 ))
  local box=$(( want < left ? want : left ))
  if [ "$box" -lt 10 ]; then
    echo "99 0 $box no time left in the ${budget} s budget" > "$work/parts/$name.rc"
    echo "== $name: skipped (no time left)" | tee -a "$log"
    return
  fi
  echo "== $name (time box ${box}s)" | tee -a "$log"
  local start=$SECONDS
  timeout -k 10 "$box" "$@" >> "$log" 2>&1
  local rc=$?
  echo "$rc $(( SECONDS - start )) $box" > "$work/parts/$name.rc"
  echo "   $name: exit $rc after $(( SECONDS - start ))s" | tee -a "$log"
}
skip() {  # skip NAME REASON
  echo "99 0 0 $2" > "$work/parts/$1.rc"
  echo "== $1: skipped ($2)" | tee -a "$log"
}

# 1. Install without dependencies and without the network: setuptools (the build backend) must already
#    be there. A failed install falls back to the checkout on PYTHONPATH, and the report says so.
site="$work/site"
leftovers=""
for path in "$here/build" "$here/malade_export.egg-info"; do [ -e "$path" ] || leftovers="$leftovers $path"; done
part install 120 "$PYTHON" -m pip install --no-deps --no-index --no-build-isolation --no-cache-dir \
  --disable-pip-version-check --quiet --target "$site" "$here"
rm -rf $leftovers  # setuptools' in-tree build folders, where this run made them
if [ "$(cut -d' ' -f1 "$work/parts/install.rc")" = 0 ] && [ -d "$site/malade_export" ]; then
  export PYTHONPATH="$site${PYTHONPATH:+:$PYTHONPATH}"
else
  echo "$(cut -d' ' -f1-3 "$work/parts/install.rc") pip install failed (see device_check.log); ran from the checkout on PYTHONPATH" \
    > "$work/parts/install.rc"
  export PYTHONPATH="$here${PYTHONPATH:+:$PYTHONPATH}"
fi
export PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1
py=("$PYTHON" "$here/scripts/device_check.py")

# 2. What machine this is.
part env 60 "${py[@]}" env --out "$work/parts/env.json" --install-log "$log"

# 3. The product's own benchmark (scripts/bench_latency.py = `malade bench`). torch.compile gets its own
#    processes, one per N, so a slow first compilation can cost the compiled rows of one N, never the
#    eager / CUDA-graph / TorchScript rows or Defense-GAN; later N reuse inductor's on-disk cache.
plain="pytorch-cuda-eager,pytorch-cuda-graphs,torchscript-cuda"
compiled="pytorch-compile-cuda,pytorch-compile-cuda-bf16,pytorch-compile-cuda-fp16"
bench=("$PYTHON" "$here/scripts/bench_latency.py" --dgan-steps 200)
if [ "$short" = 1 ]; then
  part bench_cuda 120 "${bench[@]}" --out-dir "$work/bench_cuda" --steps 10 --batches 1 \
    --backends "pytorch-eager,ort-cpu,$plain,$compiled" --dgan-restarts 1 --dgan-devices cpu,cuda \
    --dgan-measure-steps 2 --reps 2 --warmup 1 --budget 1 --rounds 1
  for n in 10 25 50; do skip "compile_n$n" "--short: the compiled backends ran in bench_cuda (N = 10 only)"; done
else
  timing=(--batches 1,64,1024 --reps 20 --warmup 3 --budget 3 --rounds 1)
  part bench_cuda 150 "${bench[@]}" --out-dir "$work/bench_cuda" --steps 10,25,50 --backends "$plain" \
    --dgan-devices cuda --dgan-restarts 1,10 --dgan-measure-steps 200 "${timing[@]}"
  part compile_n10 150 "${bench[@]}" --out-dir "$work/compile_n10" --steps 10 --backends "$compiled" \
    --dgan-devices none "${timing[@]}"
  part compile_n25 80 "${bench[@]}" --out-dir "$work/compile_n25" --steps 25 --backends "$compiled" \
    --dgan-devices none "${timing[@]}"
  part compile_n50 80 "${bench[@]}" --out-dir "$work/compile_n50" --steps 50 --backends "$compiled" \
    --dgan-devices none "${timing[@]}"
fi

# 4. Logits of every backend against ONNX Runtime CPU on the same images and noise.
part accuracy 90 "${py[@]}" accuracy --work "$work" --out "$work/parts/accuracy.json" --batch "$([ "$short" = 1 ] && echo 8 || echo 64)"

# 5. The LibTorch C++ harness, built here against this torch, on CUDA.
if [ "$short" = 1 ]; then
  skip cpp "--short: no C++ build"
else
  part cpp 180 "${py[@]}" cpp --work "$work" --out "$work/parts/cpp.json" --build "$work/cpp_build"
fi

# 6. The report: always written, from whatever the parts left.
echo "== assemble" | tee -a "$log"
timeout -k 5 60 "${py[@]}" assemble --work "$work" --out-dir "$out" --mode "$([ "$short" = 1 ] && echo short || echo gpu)" \
  --command "$command" --started "$started_epoch" >> "$log" 2>&1
rc=$?
if [ ! -s "$out/device_check.json" ]; then  # the assembler itself died: still leave a JSON that says so
  printf '{"status": "failed", "reason": "assemble exited %s; see device_check.log", "work": "%s"}\n' "$rc" "$work" \
    > "$out/device_check.json"
fi
echo "device_check: done in $(( SECONDS - t0 ))s; assemble exit $rc; see $out/device_check.md" | tee -a "$log"
[ -n "${DEVICE_CHECK_WORK:-}" ] || rm -rf "$work"
exit "$rc"

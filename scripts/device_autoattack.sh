#!/usr/bin/env bash
# AutoAttack's rand version beside PGD-EOT through the whole chain, for both presets, on a GPU machine.
#   scripts/device_autoattack.sh OUT_DIR [--short]
# Writes few files (the device tool returns at most 8): OUT_DIR/PRESET_summary.{json,md} per preset,
# OUT_DIR/rows.tar.gz (every row's JSON + .md from scripts/autoattack_rand.py, PRESET/ROW.json) and
# OUT_DIR/device_autoattack.log. Each preset is one part under its own time box
# inside an overall budget (AUTOATTACK_BUDGET_S, default 300 s); inside a part, rows whose estimated cost
# no longer fits are skipped and recorded, so every part that starts leaves a summary.
# torchattacks comes from a wheel folder (AUTOATTACK_WHEELS, default .whl/ in the checkout), installed with
# pip --no-index --no-deps --target; where torchattacks is already importable it is used as is.
# CIFAR-10 runs when CIFAR10_DATASET (e.g. folder:/tmp/cifar) or CIFAR10_TAR (the JPEG copy's .tar.gz, unpacked
# into the scratch folder) is set: the cifar10 preset's weights, or CIFAR10_CLASSIFIER and CIFAR10_SDAE where both
# are set; CIFAR10_EVAL_ARGS adds `malade eval` options (e.g. "--mean ... --std ...").
# Env: PYTHON (python3), AUTOATTACK_DEVICE (cuda), AUTOATTACK_N (100), AUTOATTACK_EOT (20),
# AUTOATTACK_STEPS (100), AUTOATTACK_BATCH (500), AUTOATTACK_SEED (0), AUTOATTACK_ROWS (all five).
# --short: the CPU machine's test mode: Fashion-MNIST only, n = 4, EOT 2, 2 steps, three rows, chain N = 2.
set -uo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
[ $# -ge 1 ] && [ "${1#-}" = "$1" ] || { sed -n 2,16p "$0"; exit 2; }
out="$1"; shift
short=0
for arg in "$@"; do
  case "$arg" in
    --short) short=1 ;;
    *) echo "device_autoattack.sh: unknown argument $arg" >&2; exit 2 ;;
  esac
done
PYTHON="${PYTHON:-python3}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"
work="$(mktemp -d /tmp/device_autoattack.XXXXXX)"
log="$out/device_autoattack.log"
: > "$log"
budget="${AUTOATTACK_BUDGET_S:-300}"
t0=$SECONDS
echo "device_autoattack: out=$out budget=${budget}s short=$short" | tee -a "$log"

# part NAME BOX PYTHON SCRIPT ARGS...: the script under min(BOX, what the budget has left minus 10 s), told the
# same time (less 15 s for its start) as its --deadline-s, so it skips rows rather than being killed in one.
part() {
  local name="$1" want="$2"; shift 2
  local left=$(( budget - (SECONDS - t0) - 10 ))
  local box=$(( want < left ? want : left ))
  if [ "$box" -lt 20 ]; then
    echo "== $name: skipped (no time left in the ${budget} s budget)" | tee -a "$log"
    return
  fi
  echo "== $name (time box ${box}s)" | tee -a "$log"
  local start=$SECONDS
  timeout -k 10 "$box" "${@:1:2}" --deadline-s "$(( box - 15 ))" "${@:3}" >> "$log" 2>&1
  echo "   $name: exit $? after $(( SECONDS - start ))s" | tee -a "$log"
}

# torchattacks: from the wheels, unless this Python already has it.
wheels="${AUTOATTACK_WHEELS:-$here/.whl}"
if ! "$PYTHON" -c "import torchattacks" >/dev/null 2>&1; then
  if ls "$wheels"/torchattacks-*.whl >/dev/null 2>&1; then
    "$PYTHON" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --disable-pip-version-check \
      --target "$work/site" "$wheels"/torchattacks-*.whl >> "$log" 2>&1 \
      && export PYTHONPATH="$work/site${PYTHONPATH:+:$PYTHONPATH}"
  fi
  "$PYTHON" -c "import torchattacks" >/dev/null 2>&1 \
    || echo "device_autoattack: torchattacks not importable (no wheel in $wheels?); the APGD rows will fail" | tee -a "$log"
fi
export PYTHONPATH="$here${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1
"$PYTHON" -c "import torch, torchattacks as t; print('torch', torch.__version__, 'cuda', torch.cuda.is_available(), 'torchattacks', t.__version__)" 2>&1 | tee -a "$log"

script=("$PYTHON" "$here/scripts/autoattack_rand.py")
if [ "$short" = 1 ]; then
  common=(--device cpu --n 4 --holdout 0 --eot 2 --steps 2 --batch-size 4 --rows clean,pgd,autoattack-rand)
  chain=(-- --steps 2)
  fm_box=120
else
  common=(--device "${AUTOATTACK_DEVICE:-cuda}" --n "${AUTOATTACK_N:-100}" --eot "${AUTOATTACK_EOT:-20}"
          --steps "${AUTOATTACK_STEPS:-100}" --batch-size "${AUTOATTACK_BATCH:-500}" --seed "${AUTOATTACK_SEED:-0}")
  [ -n "${AUTOATTACK_ROWS:-}" ] && common+=(--rows "$AUTOATTACK_ROWS")
  chain=()
  fm_box=$(( budget / 2 ))  # the rest of the budget is CIFAR-10's
  if [ -z "${CIFAR10_DATASET:-${CIFAR10_TAR:-}}" ]; then
    fm_box="$budget"  # no CIFAR-10 data: Fashion-MNIST may use it all
  fi
fi

# 1. Fashion-MNIST: the bundled classifier A and its sDAE, eps 0.1. Its data: Debian's dataset-fashion-mnist
#    or MALADE_DATA_DIR; else the test slice shipped with the tests (tests/data/fashion-mnist-slice).
fm_data=()
if [ -z "${MALADE_DATA_DIR:-}" ] && [ ! -d /usr/share/datasets/fashion-mnist ]; then
  fm_data=(--data-dir "$here/tests/data/fashion-mnist-slice")
  echo "device_autoattack: no Fashion-MNIST install here: using the tests' slice" | tee -a "$log"
fi
part fashion-mnist "$fm_box" "${script[@]}" "$work/rows/fashion-mnist" --preset fashion-mnist --eps 0.1 "${fm_data[@]}" \
  "${common[@]}" "${chain[@]}"

# 2. CIFAR-10 (JPEG copy) at eps 8/255, from the files named in the environment.
if [ "$short" = 1 ]; then
  echo "== cifar10: skipped (--short)" | tee -a "$log"
else
  dataset="${CIFAR10_DATASET:-}"
  if [ -z "$dataset" ] && [ -n "${CIFAR10_TAR:-}" ]; then
    mkdir -p "$work/cifar" && tar -xzf "$CIFAR10_TAR" -C "$work/cifar" && dataset="folder:$work/cifar"
  fi
  if [ -z "$dataset" ]; then
    echo "== cifar10: skipped (set CIFAR10_DATASET or CIFAR10_TAR)" | tee -a "$log"
  else
    weights=(--preset cifar10)  # the bundled classifier and sDAE, unless both files are named
    if [ -n "${CIFAR10_CLASSIFIER:-}" ] && [ -n "${CIFAR10_SDAE:-}" ]; then
      weights=(--classifier "$CIFAR10_CLASSIFIER" --sdae "$CIFAR10_SDAE")
    fi
    # shellcheck disable=SC2206  # CIFAR10_EVAL_ARGS is a list of options, split on purpose
    extra=(${CIFAR10_EVAL_ARGS:-})
    part cifar10 "$budget" "${script[@]}" "$work/rows/cifar10" --dataset "$dataset" "${weights[@]}" \
      --eps 0.031372549 "${common[@]}" -- "${extra[@]}"
  fi
fi
# 3. Few files back: the summaries beside the log, the rows in one archive.
if [ -d "$work/rows" ]; then
  for summary in "$work"/rows/*/summary.json "$work"/rows/*/summary.md; do
    [ -f "$summary" ] || continue
    name="$(basename "$(dirname "$summary")")"
    cp "$summary" "$out/${name}_$(basename "$summary")"
  done
  tar -czf "$out/rows.tar.gz" -C "$work/rows" .
fi
echo "device_autoattack: done in $(( SECONDS - t0 ))s" | tee -a "$log"
rm -rf "$work"

#!/usr/bin/env bash
# The CIFAR-10 round on a lent GPU machine, in one call: train the colour denoisers, then AutoAttack's rand
# version for both presets (scripts/device_autoattack.sh), then as much of Table 4 as the time left allows.
#   bash scripts/device_cifar10.sh OUT_DIR [--short]
# --short: the CPU smoke test of the whole script (256 training images, one epoch, device_autoattack.sh --short,
# one Table 4 pair on 20 images); it checks the plumbing, not the numbers.
# Needs in the checkout (git-ignored, carried): .data/cifar10-jpg.tar.gz (../shared/data's), .data/fashion-mnist/
# (IDX files; the first 5,000 test images do) and .whl/ (the torchattacks 3.5.1 wheel).
# Env: DEVICE_BUDGET_S (330), TRAIN_S (seconds per network, 45), EPOCHS (40), TABLE4_S (40), the denoiser's
# shape (see train_cifar10_denoisers.sh), AUTOATTACK_* (see device_autoattack.sh). Returns few files: den/{cifar10_sdae,cifar10_dae}.safetensors, train.log, aa.tar.gz,
# table4.tar.gz, device_cifar10.log.
set -uo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
out="${1:?usage: device_cifar10.sh OUT_DIR [--short]}"
short=0; [ "${2:-}" = --short ] && short=1
device=cuda aa_short=() t4_short=()
if [ "$short" = 1 ]; then
  device=cpu aa_short=(--short) t4_short=(--n 20 --seeds 0 --defences none)
  export LIMIT=256 EPOCHS=1
fi
mkdir -p "$out/den"
out="$(cd "$out" && pwd)"
log="$out/device_cifar10.log"
budget="${DEVICE_BUDGET_S:-330}"
t0=$SECONDS
left() { echo $(( budget - (SECONDS - t0) )); }
say() { echo "device_cifar10 [$(( SECONDS - t0 ))s]: $*" | tee -a "$log"; }
cd "$here"
work="$(mktemp -d /tmp/device_cifar10.XXXXXX)"
PYTHON="${PYTHON:-python3}"
"$PYTHON" -m pip install -q --no-deps --no-index --no-build-isolation --no-cache-dir --disable-pip-version-check \
  --target "$work/site" "$here" >> "$log" 2>&1 || say "pip install failed; running from the checkout"
export PATH="$work/site/bin:$PATH" PYTHONPATH="$work/site:$here" PYTHONUNBUFFERED=1
command -v malade >> "$log" 2>&1 || { say "no malade command"; exit 1; }
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader >> "$log" 2>&1
# The same paths as on the CPU machine, so every recorded command reruns there as written.
[ -d /tmp/cifar/train ] || { mkdir -p /tmp/cifar && tar -xzf .data/cifar10-jpg.tar.gz -C /tmp/cifar; }; say "CIFAR-10 in /tmp/cifar"

# 1. The denoisers, each ending between epochs within TRAIN_S.
DEVICE="$device" EPOCHS="${EPOCHS:-40}" TIME_BUDGET="${TRAIN_S:-45}" FORCE=1 \
  timeout -k 10 "$(( $(left) - 60 ))" bash scripts/train_cifar10_denoisers.sh /tmp/cifar "$out/den" \
  > "$out/train.log" 2>&1
say "denoisers: exit $? ($(ls "$out/den" | tr '\n' ' '))"
# Where the committed files will live, so recorded commands name them (the smoke test keeps its own out of the repo).
sdae=malade_export/weights/cifar10_sdae.safetensors dae=results/cifar10/denoisers/cifar10_dae.safetensors
[ "$short" = 1 ] && sdae="$work/cifar10_sdae.safetensors" dae="$work/cifar10_dae.safetensors"
mkdir -p "$(dirname "$dae")"
cp "$out/den/cifar10_sdae.safetensors" "$sdae" 2>> "$log" || rm -f "$sdae"
# the installed package's copy too: the cifar10 preset resolves its sDAE there
[ "$short" = 1 ] || cp "$sdae" "$work/site/malade_export/weights/" 2>> "$log"
cp "$out/den/cifar10_dae.safetensors" "$dae" 2>> "$log" || rm -f "$dae"

# 2. AutoAttack-rand beside PGD-EOT, both presets, leaving TABLE4_S (40) seconds for Table 4.
# CIFAR-10 on the cifar10 preset (its bundled classifier and the sDAE just trained)
[ -f "$sdae" ] && [ "$short" = 0 ] && export CIFAR10_DATASET="folder:/tmp/cifar"
MALADE_DATA_DIR="$here/.data/fashion-mnist" AUTOATTACK_BUDGET_S="$(( $(left) - ${TABLE4_S:-40} ))" \
  bash scripts/device_autoattack.sh "$work/aa" "${aa_short[@]}" >> "$log" 2>&1
say "autoattack: exit $?"
tar -czf "$out/aa.tar.gz" -C "$work/aa" . 2>> "$log"

# 3. Table 4 (black-box FGSM), as many (defence, seed) pairs as fit.
if [ -f "$sdae" ] && [ -f "$dae" ] && [ "$(left)" -gt 20 ]; then
  timeout -k 5 "$(( $(left) - 8 ))" "$PYTHON" scripts/table4_cifar10.py /tmp/cifar --device "$device" --out "$work/table4" "${t4_short[@]}" \
    --sdae "$sdae" --dae "$dae" \
    --deadline-s "$(( $(left) - 25 ))" >> "$log" 2>&1
  say "table4: exit $?"
  tar -czf "$out/table4.tar.gz" -C "$work/table4" . 2>> "$log"
fi
say "done"

#!/usr/bin/env bash
# Reproduce the bundled default models in malade_export/weights/ from the full Fashion-MNIST
# training set (55k train / 5k validation, fixed split). CPU, 2 cores: about 85 minutes in all.
#   bash scripts/train_defaults.sh [--data-dir DIR] [--device cuda]
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=malade_export/weights
EXTRA=("$@")
malade train-classifier --arch A --epochs 10 --seed 0 --out "$OUT/classifier_a" "${EXTRA[@]}"
# the default sDAE (48 channels, 10 epochs); the 5-epoch one and the 64-channel one that committed
# results name (results/faster_sdae/)
malade train-sdae --classifier "$OUT/classifier_a.safetensors" --channels 48 --epochs 10 --seed 0 --out "$OUT/sdae_a_c48k5_e10" "${EXTRA[@]}"
malade train-sdae --classifier "$OUT/classifier_a.safetensors" --channels 48 --epochs 5 --seed 0 --out "$OUT/sdae_a_c48k5" "${EXTRA[@]}"
malade train-sdae --classifier "$OUT/classifier_a.safetensors" --epochs 5 --seed 0 --out "$OUT/sdae_a" "${EXTRA[@]}"
malade train-dae --epochs 5 --seed 0 --out "$OUT/dae" "${EXTRA[@]}"

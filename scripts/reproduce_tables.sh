#!/usr/bin/env bash
# Reproduce the paper's tables (DESIGN.md section 5) on Fashion-MNIST, plus the reviewer's attacks.
#
#   bash scripts/reproduce_tables.sh --quick   # minutes on 2 CPU cores: tiny models, tiny slices
#   bash scripts/reproduce_tables.sh           # paper settings on real models (hours; use DEVICE=cuda)
#
# Writes one JSON + Markdown row per run into results/quick/ or results/full/, then table.md and
# accuracy_vs_eps.png there. Every row names its command, seed and git commit.
# Environment: DEVICE (cpu|cuda|auto, default cpu), SEED (default 0), PYTHON (default python),
# and in full mode CLASSIFIER / SDAE / DAE / GENERATOR to use existing checkpoints (missing ones are trained).
set -euo pipefail
cd "$(dirname "$0")/.."

MODE=full
if [[ "${1:-}" == "--quick" ]]; then MODE=quick; shift; fi
[[ $# -eq 0 ]] || { echo "usage: $0 [--quick]" >&2; exit 2; }
DEVICE="${DEVICE:-cpu}"
SEED="${SEED:-0}"
PYTHON="${PYTHON:-python}"

if [[ "$MODE" == quick ]]; then
    OUT=results/quick
    TRAIN=(--limit 2000 --epochs 1 --val-size 1000)
    DENOISER=("${TRAIN[@]}" --channels 32)
    GAN_ITERATIONS=10
    N=100
    EPS_SWEEP=(0.1 0.2 0.4)
    SUB=(--sub-rounds 2 --sub-epochs 3)
    CHAIN=(--steps 10)
    GANREC=(--gan-steps 10 --gan-restarts 1)
    CW=(--cw-steps 10)
    PGD=(--pgd-steps 5 --pgd-alpha 0.1 --eot 2)
else
    OUT=results/full
    TRAIN=(--epochs 10)
    DENOISER=(--epochs 5)  # as scripts/train_defaults.sh
    GAN_ITERATIONS=200000
    N=2000
    EPS_SWEEP=(0.1 0.15 0.2 0.25 0.35 0.4)
    SUB=()
    CHAIN=(--steps 10)
    GANREC=()
    CW=()
    PGD=(--pgd-steps 100 --pgd-alpha 0.01 --eot 10)
fi
MODELS="$OUT/models"
mkdir -p "$MODELS"
COMMON=(--device "$DEVICE" --seed "$SEED" --n "$N")

if [[ "$MODE" == quick ]]; then
    CLASSIFIER="$MODELS/classifier_a.safetensors"; SDAE="$MODELS/sdae_a.safetensors"
    DAE="$MODELS/dae.safetensors"; GENERATOR="$MODELS/generator.safetensors"
else
    CLASSIFIER="${CLASSIFIER:-malade_export/weights/classifier_a.safetensors}"
    SDAE="${SDAE:-malade_export/weights/sdae_a.safetensors}"
    DAE="${DAE:-malade_export/weights/dae.safetensors}"
    GENERATOR="${GENERATOR:-$MODELS/generator.safetensors}"
fi

# --- models (skipped when the checkpoint exists) -------------------------------------------------
train() { local target="$1"; shift; [[ -f "$target" ]] || malade "$@" --out "$target" --device "$DEVICE" --seed "$SEED"; }
train "$CLASSIFIER" train-classifier --arch A "${TRAIN[@]}"
train "$SDAE" train-sdae --classifier "$CLASSIFIER" "${DENOISER[@]}"
train "$DAE" train-dae "${DENOISER[@]}"
if [[ "$MODE" == quick ]]; then
    train "$GENERATOR" train-gan --iterations "$GAN_ITERATIONS" --limit 2000 --val-size 1000
else
    train "$GENERATOR" train-gan --iterations "$GAN_ITERATIONS"
fi

# --- evaluations ---------------------------------------------------------------------------------
evaluate() {  # evaluate NAME DEFENCE ATTACK [extra eval options...]
    local name="$1" defense="$2" attack="$3"; shift 3
    local models=(--classifier "$CLASSIFIER")
    case "$defense" in
        malade) models+=(--sdae "$SDAE" "${CHAIN[@]}") ;;
        mala) models+=(--dae "$DAE" "${CHAIN[@]}") ;;
        magnet) models+=(--dae "$DAE") ;;
        defensegan) models+=(--generator "$GENERATOR" "${GANREC[@]}") ;;
    esac
    malade eval --defense "$defense" "${models[@]}" --attack "$attack" "${COMMON[@]}" --out "$OUT/$name.json" "$@"
}

DEFENSES=(none magnet mala malade defensegan)
# Table 1: black-box FGSM eps 0.3 (substitute E, 150 held-out images, 6 augmentation rounds).
for d in "${DEFENSES[@]}"; do evaluate "blackbox_${d}_eps0.3" "$d" blackbox --eps 0.3 "${SUB[@]}"; done
# Table 2: white-box FGSM, R+FGSM, CW-L2 (Defense-GAN attacked through BPDA: it has no gradient).
for d in "${DEFENSES[@]}"; do
    evaluate "t2_fgsm_${d}" "$d" fgsm --eps 0.3
    evaluate "t2_rfgsm_${d}" "$d" rfgsm --eps 0.3
    evaluate "t2_cw_${d}" "$d" cw "${CW[@]}"
done
# Table 3: black-box FGSM over eps (the 0.3 point is the Table 1 run).
for eps in "${EPS_SWEEP[@]}"; do
    for d in none malade; do evaluate "blackbox_${d}_eps${eps}" "$d" blackbox --eps "$eps" "${SUB[@]}"; done
done
# Beyond the paper: PGD through the whole chain with EOT, and with BPDA.
evaluate reviewer_pgd_eot_malade malade pgd --eps 0.3 "${PGD[@]}"
evaluate reviewer_pgd_bpda_malade malade pgd --eps 0.3 "${PGD[@]}" --bpda

"$PYTHON" -m malade_export.eval.tables "$OUT"

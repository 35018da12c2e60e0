#!/usr/bin/env bash
# Reproduce the paper's tables (1, 2, 3 and 5) on Fashion-MNIST, plus the reviewer's adaptive attacks.
#
#   bash scripts/reproduce_tables.sh --quick   # minutes on 2 CPU cores: tiny models, tiny slices
#   bash scripts/reproduce_tables.sh           # real models, classifiers A-D (hours on 2 CPU cores)
#
# Writes one JSON + Markdown row per run into results/quick/ or results/full/, then the grouped
# tables (table.md), every row (all_rows.md) and the plots there. Every row names its command,
# seed and git commit. Runs whose JSON already exists are skipped, so an interrupted run resumes.
#
# Environment: DEVICE (cpu|cuda|auto, default cpu), SEED (default 0), JOBS (parallel evaluations,
# default 1), EOT_STRONG and PGD_STRONG_STEPS (full mode: the stronger adaptive rows, default 20
# draws and 100 steps; 0 skips). Parts, as
# space-separated lists (empty = skip): ARCHS (classifiers, full: "A B C D"), EPS_SWEEP (Table 3,
# on classifier C), SIGMAS (Table 5), STEPS_SWEEP (accuracy vs N); DGAN=0 skips Defense-GAN (its
# training and its rows). Sizes: N_BB (black-box rows), N_WB (white-box FGSM and R+FGSM), N_SLOW
# (CW-L2 and adaptive PGD), N_GAN (Defense-GAN: ~2 s per image per projection on a
# CPU core at L=200, R=10), GAN_ITERATIONS (WGAN-GP training; the paper's 200k is days on a CPU).
#
# Full-mode defaults are what a 2-core CPU finishes in a few hours; each row's JSON records its
# exact command, so a row reruns as it was made. The choices:
# - classifier A, its sDAE and the DAE are the bundled models; the sDAEs of B-D start from A's sDAE
#   and are fine-tuned for SDAE_EPOCHS (default 1) under their own classifier (train-sdae --init);
# - the Table 5 sDAEs (sigma != 0.3) are fine-tuned the same way, and the chain's step sizes scale
#   with sigma^2 (alpha0 = sigma^2 / 2) so every sigma takes the same fraction of r(x) - x;
# - Defense-GAN: one row per classifier, white-box FGSM through BPDA. Labelling the black-box
#   substitute's ~9,500 queries at L=200, R=10 would take about 5 CPU-hours per row, and PGD one
#   projection per step and image.
set -euo pipefail
cd "$(dirname "$0")/.."

MODE=full
if [[ "${1:-}" == "--quick" ]]; then MODE=quick; shift; fi
[[ $# -eq 0 ]] || { echo "usage: $0 [--quick]" >&2; exit 2; }
DEVICE="${DEVICE:-cpu}"
SEED="${SEED:-0}"
PYTHON="${PYTHON:-python}"
JOBS="${JOBS:-1}"
DGAN="${DGAN:-1}"

if [[ "$MODE" == quick ]]; then
    OUT=results/quick
    ARCHS=(A D)
    TRAIN=(--limit 2000 --epochs 1 --val-size 1000)
    FINETUNE=(--limit 2000 --epochs 1 --val-size 1000)
    GAN_ITERATIONS="${GAN_ITERATIONS:-10}"
    N_BB=100; N_WB=100; N_SLOW=50; N_GAN="${N_GAN:-20}"
    EPS_SWEEP=(0.1 0.2)
    SIGMAS=(0.1)
    STEPS_SWEEP=(1 5)
    SUB=(--sub-rounds 2 --sub-epochs 3)
    GANREC=(--gan-steps 10 --gan-restarts 1)
    CW=(--cw-steps 10)
    PGD_STEPS=5
    EOT=2
    EOT_STRONG=0
    PGD_STRONG_STEPS=0
else
    OUT=results/full
    read -r -a ARCHS <<<"${ARCHS-A B C D}"
    TRAIN=(--epochs 10)
    FINETUNE=(--epochs "${SDAE_EPOCHS:-1}")
    GAN_ITERATIONS="${GAN_ITERATIONS:-800}"
    N_BB="${N_BB:-1000}"; N_WB="${N_WB:-500}"; N_SLOW="${N_SLOW:-50}"; N_GAN="${N_GAN:-50}"
    read -r -a EPS_SWEEP <<<"${EPS_SWEEP-0.1 0.2 0.4}"
    read -r -a SIGMAS <<<"${SIGMAS-0.1 0.2 0.4}"
    read -r -a STEPS_SWEEP <<<"${STEPS_SWEEP-1 5 25}"
    SUB=()
    GANREC=()
    CW=()
    PGD_STEPS=20
    EOT=5
    EOT_STRONG="${EOT_STRONG:-20}"
    PGD_STRONG_STEPS="${PGD_STRONG_STEPS:-100}"
fi
has_arch() { [[ " ${ARCHS[*]} " == *" $1 "* ]]; }
if ! has_arch A; then SIGMAS=() STEPS_SWEEP=(); fi  # the parts run on classifier A only
MODELS="$OUT/models"
mkdir -p "$MODELS"

# --- models (each skipped when its checkpoint exists) ---------------------------------------------
train() { local target="$1"; shift; [[ -f "$target" ]] || malade "$@" --out "$target" --device "$DEVICE" --seed "$SEED"; }
lower() { tr '[:upper:]' '[:lower:]' <<<"$1"; }
# Full mode: classifier A, its sDAE and the DAE are the bundled defaults.
BUNDLED=""; [[ "$MODE" == full ]] && BUNDLED=malade_export/weights
classifier_of() { [[ "$1" == A && -n "$BUNDLED" ]] && echo "$BUNDLED/classifier_a.safetensors" || echo "$MODELS/classifier_$(lower "$1").safetensors"; }
sdae_of() { [[ "$1" == A && -n "$BUNDLED" ]] && echo "$BUNDLED/sdae_a.safetensors" || echo "$MODELS/sdae_$(lower "$1").safetensors"; }
DAE="${BUNDLED:-$MODELS}/dae.safetensors"
GENERATOR="$MODELS/generator.safetensors"
train "$(classifier_of A)" train-classifier --arch A "${TRAIN[@]}"
train "$(sdae_of A)" train-sdae --classifier "$(classifier_of A)" "${TRAIN[@]}"
train "$DAE" train-dae "${TRAIN[@]}"
for arch in "${ARCHS[@]}"; do
    [[ "$arch" == A ]] && continue
    train "$(classifier_of "$arch")" train-classifier --arch "$arch" "${TRAIN[@]}"
    train "$(sdae_of "$arch")" train-sdae --classifier "$(classifier_of "$arch")" --init "$(sdae_of A)" "${FINETUNE[@]}"
done
for sigma in "${SIGMAS[@]}"; do
    train "$MODELS/sdae_a_sigma$sigma.safetensors" train-sdae --classifier "$(classifier_of A)" --sigma "$sigma" \
        --init "$(sdae_of A)" "${FINETUNE[@]}"
done
if [[ "$DGAN" == 1 && "$MODE" == quick ]]; then
    train "$GENERATOR" train-gan --iterations "$GAN_ITERATIONS" --limit 2000 --val-size 1000
elif [[ "$DGAN" == 1 ]]; then
    train "$GENERATOR" train-gan --iterations "$GAN_ITERATIONS"
fi

# --- evaluations: queued as lines of arguments, then run JOBS at a time -----------------------------
QUEUE="$(mktemp)"  # per run: stages may run side by side

queue() {  # queue NAME ARCH DEFENCE ATTACK N [extra eval options...]
    local name="$1" arch="$2" defense="$3" attack="$4" n="$5"; shift 5
    [[ -f "$OUT/$name.json" ]] && return 0
    local args=(--classifier "$(classifier_of "$arch")" --defense "$defense" --attack "$attack")
    case "$defense" in
        malade) args+=(--sdae "${SDAE:-$(sdae_of "$arch")}") ;;
        mala | magnet) args+=(--dae "$DAE") ;;
        defensegan) args+=(--generator "$GENERATOR" "${GANREC[@]}") ;;
    esac
    printf '%q ' "${args[@]}" --device "$DEVICE" --seed "$SEED" --n "$n" --out "$OUT/$name.json" "$@" >>"$QUEUE"
    echo >>"$QUEUE"
}
eot_for() { case "$1" in mala | malade) echo "$EOT" ;; *) echo 1 ;; esac; }  # EOT only helps on random defences

CHAINS=(none magnet mala malade)
# Queued most telling first, so a run stopped early still leaves the headline tables.
# Table 1: black-box FGSM eps 0.3 (substitute E, 150 held-out images, 6 augmentation rounds).
for arch in "${ARCHS[@]}"; do
    for d in "${CHAINS[@]}"; do queue "t1_$(lower "$arch")_${d}" "$arch" "$d" blackbox "$N_BB" --eps 0.3 "${SUB[@]}"; done
done
# Beyond the paper: PGD through the whole chain (EOT over the chain's noise), and BPDA. Step size
# 2.5 eps / steps (Madry et al.), random start. This, Table 5 and the steps sweep use
# classifier A: a stage whose ARCHS lacks A skips them.
if has_arch A; then
    for eps in 0.1 0.3; do
        pgd=(--eps "$eps" --pgd-steps "$PGD_STEPS" --pgd-alpha "$(awk -v e="$eps" -v n="$PGD_STEPS" 'BEGIN { print 2.5 * e / n }')")
        for d in "${CHAINS[@]}"; do
            queue "adaptive_pgd_eps${eps}_${d}" A "$d" pgd "$N_SLOW" "${pgd[@]}" --eot "$(eot_for "$d")"
            [[ "$d" == none ]] || queue "adaptive_bpda_eps${eps}_${d}" A "$d" pgd "$N_SLOW" "${pgd[@]}" --bpda \
                --eot "$(eot_for "$d")"
        done
    done
    # Is EOT over 5 draws enough? The random chains again at eps 0.1 (where they keep images) with
    # EOT_STRONG draws (20 by default: enough to tell whether 5 converged; 0 skips), at EOT_STRONG / 5 times the cost.
    if (( EOT_STRONG > 0 )); then
        for d in mala malade; do
            queue "adaptive_pgd_eot${EOT_STRONG}_eps0.1_${d}" A "$d" pgd "$N_SLOW" --eps 0.1 --pgd-steps "$PGD_STEPS" \
                --pgd-alpha "$(awk -v n="$PGD_STEPS" 'BEGIN { print 0.25 / n }')" --eot "$EOT_STRONG"
        done
    fi
    # Are 20 steps enough? Malade at eps 0.1 again with PGD_STRONG_STEPS steps (0 skips), EOT as above.
    if (( PGD_STRONG_STEPS > 0 )); then
        queue "adaptive_pgd${PGD_STRONG_STEPS}_eot${EOT}_eps0.1_malade" A malade pgd "$N_SLOW" --eps 0.1 \
            --pgd-steps "$PGD_STRONG_STEPS" --pgd-alpha "$(awk -v n="$PGD_STRONG_STEPS" 'BEGIN { print 0.25 / n }')" \
            --eot "$EOT"
    fi
fi
# Defense-GAN (white-box FGSM through BPDA: its projection has no useful gradient). The generator
# does not depend on the classifier, so every classifier gets its row. One FGSM row costs 3
# projections per image; a PGD row would cost one per PGD step.
if [[ "$DGAN" == 1 ]]; then
    for arch in "${ARCHS[@]}"; do queue "t2_$(lower "$arch")_fgsm_defensegan" "$arch" defensegan fgsm "$N_GAN" --eps 0.3; done
fi
# Table 3: black-box FGSM over eps on classifier C (A in quick mode); the 0.3 point is Table 1's.
T3_ARCH=C; [[ "$MODE" == quick ]] && T3_ARCH=A
has_arch "$T3_ARCH" || EPS_SWEEP=()
for eps in "${EPS_SWEEP[@]}"; do
    for d in none mala malade; do queue "t3_eps${eps}_${d}" "$T3_ARCH" "$d" blackbox "$N_BB" --eps "$eps" "${SUB[@]}"; done
done
# Table 5: sDAE noise level sigma (black-box FGSM eps 0.3, classifier A); sigma 0.3 is Table 1's.
for sigma in "${SIGMAS[@]}"; do
    schedule=$(awk -v s="$sigma" 'BEGIN { printf "alpha0=%g,alpha_min=%g", s*s/2, s*s/10 }')
    SDAE="$MODELS/sdae_a_sigma$sigma.safetensors" queue "t5_sigma${sigma}" A malade blackbox "$N_BB" --eps 0.3 \
        --schedule "$schedule" "${SUB[@]}"
done
# Accuracy vs chain length N (black-box FGSM eps 0.3, classifier A); N = 10 is Table 1's.
for steps in "${STEPS_SWEEP[@]}"; do
    queue "steps${steps}_malade" A malade blackbox "$N_BB" --eps 0.3 --steps "$steps" "${SUB[@]}"
done
# Table 2: white-box FGSM, R+FGSM and CW-L2, gradients through the whole unrolled chain.
for arch in "${ARCHS[@]}"; do
    a="$(lower "$arch")"
    for d in "${CHAINS[@]}"; do
        queue "t2_${a}_fgsm_${d}" "$arch" "$d" fgsm "$N_WB" --eps 0.3
        queue "t2_${a}_rfgsm_${d}" "$arch" "$d" rfgsm "$N_WB" --eps 0.3
        queue "t2_${a}_cw_${d}" "$arch" "$d" cw "$N_SLOW" "${CW[@]}"
    done
done

echo "$(wc -l <"$QUEUE") evaluations to run ($JOBS at a time); results in $OUT/"
(( JOBS > 1 )) && export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"  # one core per job, not JOBS x all cores
# Each queue line is one shell-quoted argument list (printf %q), hence eval.
# shellcheck disable=SC2016
xargs -d '\n' -n 1 -P "$JOBS" bash -c 'eval "malade eval $1"' _ <"$QUEUE"
rm -f "$QUEUE"
"$PYTHON" -m malade_export.eval.tables "$OUT"

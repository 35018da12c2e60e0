#!/usr/bin/env bash
# The CIFAR-10 (JPEG copy) denoisers, trained with `malade train-sdae/train-dae --dataset folder:` under the
# project's colour classifier:
# the sDAE (Malade, the cifar10 preset's) and the unsupervised DAE of the same shape (Mala, MagNet).
# The shape and sigma were chosen by scripts/sweep_cifar10_sdae.py (results/cifar10/sdae_sweep/).
#
#   bash scripts/train_cifar10_denoisers.sh DATA_DIR [OUT_DIR]
#   env: EPOCHS (20), DEVICE (auto), CHANNELS (48), KERNEL (3), DOWNSAMPLE (0), SKIP (1), SIGMA (0.1), SEED (0),
#        KINDS ("sdae dae"), TIME_BUDGET (seconds per network, ends between epochs), LIMIT (training images,
#        for smoke tests), CE_WEIGHT (the sDAE's cross-entropy weight; 30), FORCE (1: keep a checkpoint
#        that fails the usefulness check, marked so), MALADE (the malade command; default: malade on PATH)
set -euo pipefail
data=${1:?usage: train_cifar10_denoisers.sh DATA_DIR [OUT_DIR]  (DATA_DIR holds train/ and test/)}
out=${2:-results/cifar10/denoisers}
[ -d "$data/train" ] || { echo "Error: $data/train not found; unpack ../shared/data/cifar10-jpg.tar.gz there" >&2; exit 1; }
# The classifier in the form the cifar10 preset bundles (the project's safetensors checkpoint of
# results/cifar10/classifier/), so the sDAE records the hash of the file it is exported with.
clf=malade_export/weights/cifar10_classifier.safetensors
malade=${MALADE:-malade}
skip=$([ "${SKIP:-1}" = 1 ] && echo --skip || echo --no-skip)
shape=(--channels "${CHANNELS:-48}" --kernel "${KERNEL:-3}" --downsample "${DOWNSAMPLE:-0}" "$skip"
       --sigma "${SIGMA:-0.1}")
common=(--dataset "folder:$data" --epochs "${EPOCHS:-20}" --batch-size 128 --seed "${SEED:-0}"
        --device "${DEVICE:-auto}")
[ -n "${TIME_BUDGET:-}" ] && common+=(--time-budget "$TIME_BUDGET")
[ -n "${LIMIT:-}" ] && common+=(--limit "$LIMIT")
[ "${FORCE:-0}" = 1 ] && common+=(--force)
ce=(--ce-weight "${CE_WEIGHT:-30}")
mkdir -p "$out"
failed=0
for kind in ${KINDS:-sdae dae}; do  # each is tried even if the other fails its usefulness check
  case $kind in
    sdae) $malade train-sdae "${common[@]}" "${shape[@]}" "${ce[@]}" --classifier "$clf" \
            --out "$out/cifar10_sdae.safetensors" || failed=1 ;;
    dae) $malade train-dae "${common[@]}" "${shape[@]}" --out "$out/cifar10_dae.safetensors" || failed=1 ;;
    *) echo "Error: unknown kind $kind (sdae or dae)" >&2; exit 1 ;;
  esac
done
exit $failed

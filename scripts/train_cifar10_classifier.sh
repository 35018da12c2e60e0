#!/usr/bin/env bash
# Train the project's CIFAR-10 classifier (airbench-small) on the JPEG copy of CIFAR-10 and write it
# as a user holds it: results/cifar10/classifier/{airbench_small.safetensors,.pt,.onnx} (the .pt and
# .onnx take mean/std-normalised input). About 16 minutes on 2 idle CPU cores (87.26 % test).
#   bash scripts/train_cifar10_classifier.sh [DATA_DIR] [extra train-classifier options]
# DATA_DIR (default /tmp/cifar) holds train/<class>/*.jpg and test/<class>/*.jpg:
#   mkdir -p /tmp/cifar && tar -xzf ../shared/data/cifar10-jpg.tar.gz -C /tmp/cifar
# Env: PYTHON (default python3), EPOCHS (default 16), OUT (default results/cifar10/classifier).
set -euo pipefail
cd "$(dirname "$0")/.."
DATA="${1:-/tmp/cifar}"
[ $# -gt 0 ] && shift
if [ ! -d "$DATA/train" ] || [ ! -d "$DATA/test" ]; then
  echo "Error: CIFAR-10 image folder $DATA/train and $DATA/test not found; unpack ../shared/data/cifar10-jpg.tar.gz into $DATA" >&2
  exit 1
fi
PYTHON="${PYTHON:-python3}"
OUT="${OUT:-results/cifar10/classifier}"
mkdir -p "$OUT"
malade() { "$PYTHON" -c "import sys; from malade_export.cli.main import main; sys.argv[0] = 'malade'; main()" "$@"; }

malade train-classifier --arch airbench-small --dataset "folder:$DATA" --val-size 5000 \
  --optimizer sgd-nesterov --lr 0.2 --momentum 0.9 --weight-decay 5e-4 --schedule onecycle --warmup 0.2 \
  --label-smoothing 0.2 --augment crop-flip --crop-pad 2 --channels-last \
  --batch-size 256 --epochs "${EPOCHS:-16}" --seed 0 --keep-best --out "$OUT/airbench_small.safetensors" "$@"

"$PYTHON" - "$OUT" "$DATA" <<'PY'
import json, sys
from pathlib import Path
from malade_export.export.user_forms import save_user_forms
out, data = Path(sys.argv[1]), Path(sys.argv[2])
names = sorted(p.name for p in (data / "train").iterdir() if p.is_dir() and not p.name.startswith("."))
info = save_user_forms(out / "airbench_small.safetensors", out, "airbench_small", class_names=names)
print(json.dumps({k: str(v) if isinstance(v, Path) else v for k, v in info.items()}))
PY

#!/usr/bin/env bash
# Size and time of the torch-free serving install (./serving) against the full install, each into a
# fresh virtualenv; prints a Markdown table. Pip's cache is used by both (whichever runs second
# reuses numpy/onnxruntime wheels the first downloaded): the runtime install runs first.
# Usage: measure_serving_install.sh WORKDIR
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=${1:?usage: measure_serving_install.sh WORKDIR}
mkdir -p "$WORK"
site_mb() { du -sm "$1"/lib/python3*/site-packages | cut -f1; }
python3 -m venv "$WORK/empty"
BASE=$(site_mb "$WORK/empty")
run() {  # name, pip arguments...
  local name=$1; shift
  rm -rf "$WORK/$name"; python3 -m venv "$WORK/$name"
  local start end
  start=$(date +%s.%N)
  for spec in "$@"; do "$WORK/$name/bin/pip" install -q $spec 2>&1 | grep -v '^WARNING: Location' || true; done
  end=$(date +%s.%N)
  local torch="no"
  "$WORK/$name/bin/python" -c 'import torch' 2>/dev/null && torch="yes"
  printf '| %s | %d | %.0f | %s |\n' "$name" "$(( $(site_mb "$WORK/$name") - BASE ))" "$(echo "$end - $start" | bc)" "$torch"
}
echo "| install | MB added to a fresh venv | seconds | torch |"
echo "|---|---|---|---|"
run runtime "$ROOT/serving"
run full "torch==2.13.0" "$ROOT"

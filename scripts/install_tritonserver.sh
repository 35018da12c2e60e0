#!/usr/bin/env bash
# Lay out a `tritonserver` binary (from the nvidia-pytriton wheel) in DEST, isolated from any Python
# environment: the wheel is downloaded and unzipped, never pip-installed, so its numpy<2 pin never
# reaches the package's users. The Python-backend stub matching PYTHON's version is put beside the
# backend, where tritonserver looks for it. Usage: install_tritonserver.sh DEST [PYTHON]
set -euo pipefail
DEST=${1:?usage: install_tritonserver.sh DEST [PYTHON]}
PY=${2:-python3}
VERSION=0.7.0
if [ -x "$DEST/pytriton/tritonserver/backends/python/triton_python_backend_stub" ]; then exit 0; fi
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
"$PY" -m pip download -q --no-deps "nvidia-pytriton==$VERSION" -d "$WORK/wheel"
mkdir -p "$WORK/tree"
"$PY" -m zipfile -e "$WORK"/wheel/nvidia_pytriton-*.whl "$WORK/tree"
PYVER=$("$PY" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
SERVER="$WORK/tree/pytriton/tritonserver"
STUB="$SERVER/python_backend_stubs/$PYVER/triton_python_backend_stub"
[ -f "$STUB" ] || { echo "install_tritonserver: the wheel has no Python-backend stub for Python $PYVER" >&2; exit 1; }
cp "$STUB" "$SERVER/backends/python/triton_python_backend_stub"
chmod +x "$SERVER/bin/tritonserver" "$SERVER/backends/python/triton_python_backend_stub"
rm -rf "$SERVER/python_backend_stubs" "$WORK/tree"/*.dist-info
find "$WORK/tree/pytriton" -mindepth 1 -maxdepth 1 ! -name tritonserver -exec rm -rf {} +  # PyTriton itself: not used
mkdir -p "$(dirname "$DEST")"
rm -rf "$DEST"
mv "$WORK/tree" "$DEST"

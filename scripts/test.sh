#!/usr/bin/env bash
# The README's test command: a fresh virtualenv with the pinned CPU torch, the package with its test
# extras, the linter (rules in pyproject.toml), then the whole suite (GPU / TensorRT tests skip where
# there is no GPU).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${MALADE_TEST_VENV:-.venv-test}
python3 -m venv "$VENV"
"$VENV/bin/pip" install -q torch==2.13.0
"$VENV/bin/pip" install -q -e '.[test]'
# torchattacks: the attack-sanity test compares with it, and the APGD / AutoAttack-rand attacks run it
# (tests/test_apgd.py); --no-deps because its metadata asks for torchvision, which does not import beside
# this torch, and pins requests (torchattacks itself only needs scipy: the eval extra).
"$VENV/bin/pip" install -q -e '.[eval]'
"$VENV/bin/pip" install -q --no-deps torchattacks==3.5.1
# The benchmark's OpenVINO backend is checked against ONNX Runtime on the same file.
"$VENV/bin/pip" install -q openvino==2026.4.1
# The C++ ONNX Runtime harness test needs headers the wheel lacks: fetch them from Debian's package
# now (a few seconds), so the test runs instead of skipping. Without apt access it still skips.
bash cpp_bench/fetch_ort_root.sh cpp_bench/build/onnxruntime "$VENV/bin/python" >/dev/null \
  || echo "test.sh: no ONNX Runtime headers; the C++ ONNX Runtime harness test will skip"
# scripts/device_check.sh (tested in its short mode) installs the package offline with --no-build-isolation,
# so the build backend must be in the environment: Python 3.12+ venvs come without setuptools.
"$VENV/bin/pip" install -q setuptools
"$VENV/bin/pip" install -q ruff==0.17.6
"$VENV/bin/ruff" check .
# Serving tests: tritonclient in the venv; the tritonserver binary unpacked from the nvidia-pytriton wheel
# into .triton/, outside the venv (never pip-installed: its numpy<2 pin must not reach the package).
"$VENV/bin/pip" install -q 'tritonclient[grpc,http]>=2.40'
bash scripts/install_tritonserver.sh .triton "$VENV/bin/python" \
  || echo "test.sh: could not install tritonserver; the Triton server tests will skip"
export MALADE_TRITONSERVER="$PWD/.triton"
exec "$VENV/bin/python" -m pytest -q "$@"

#!/usr/bin/env bash
# Assemble an ONNX Runtime root (include/ + lib/) for bench_ort without building ONNX Runtime:
#   headers: Debian 13's libonnxruntime-dev (.deb fetched with apt into a private list folder, so the
#            system's apt sources are untouched; the C API is backward compatible, so 1.21 headers
#            work against a newer library);
#   library: the libonnxruntime.so.1.x that the onnxruntime Python wheel ships (symlinked).
# Usage: cpp_bench/fetch_ort_root.sh [DEST] [PYTHON]   (prints DEST on success; DEST default cpp_bench/build/onnxruntime)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
dest="$(mkdir -p "${1:-$here/build/onnxruntime}" && cd "${1:-$here/build/onnxruntime}" && pwd)"
python="${2:-python3}"

die() { echo "fetch_ort_root: $*" >&2; exit 1; }

lib="$("$python" -c 'import glob, os, onnxruntime; print((sorted(glob.glob(os.path.join(os.path.dirname(onnxruntime.__file__), "capi", "libonnxruntime.so*"))) or [""])[0])')" \
  || die "cannot import onnxruntime with $python"
[ -n "$lib" ] || die "the onnxruntime wheel of $python ships no libonnxruntime.so"
mkdir -p "$dest/lib" "$dest/include"
ln -sf "$lib" "$dest/lib/libonnxruntime.so"
ln -sf "$lib" "$dest/lib/libonnxruntime.so.1"

if [ ! -f "$dest/include/onnxruntime_cxx_api.h" ]; then
  command -v apt-get >/dev/null || die "no apt-get here: put ONNX Runtime headers in $dest/include by hand"
  apt_dir="$dest/.apt"
  mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$apt_dir/sources"
  : > "$apt_dir/empty.list"
  # Reuse the Debian mirror this machine's apt is already configured with; only the suite differs.
  mirror="$(grep -hoE '^URIs: *[^ ]+/debian$' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -1 | sed 's/^URIs: *//')"
  [ -n "$mirror" ] || die "no Debian mirror found in /etc/apt/sources.list.d/*.sources"
  cat > "$apt_dir/sources/trixie.sources" <<SOURCES
Types: deb
URIs: $mirror
Suites: trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
  apt_opts=(-o "Dir::Etc::SourceList=$apt_dir/empty.list" -o "Dir::Etc::SourceParts=$apt_dir/sources"
            -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir/cache" -o Acquire::Languages=none
            -o APT::Sandbox::User=root)
  apt-get "${apt_opts[@]}" -qq update >/dev/null 2>&1 || die "apt-get update of Debian trixie failed (offline?)"
  (cd "$apt_dir" && apt-get "${apt_opts[@]}" -qq download libonnxruntime-dev >/dev/null 2>&1) \
    || die "apt-get download libonnxruntime-dev failed"
  deb="$(ls "$apt_dir"/libonnxruntime-dev_*.deb | head -1)"
  dpkg-deb -x "$deb" "$apt_dir/extract"
  cp "$apt_dir"/extract/usr/include/onnxruntime/*.h "$dest/include/"
  cp -r "$apt_dir"/extract/usr/include/onnxruntime/core "$dest/include/" 2>/dev/null || true
  echo "fetch_ort_root: headers from $(basename "$deb"), library $(basename "$lib")" >&2
fi
echo "$dest"

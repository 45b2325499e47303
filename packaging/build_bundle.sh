#!/usr/bin/env bash
# Build the one-folder bundle for this platform: dist/RiskManager/ (see pyinstaller.spec).
#   bash packaging/build_bundle.sh
# Environment:
#   PYTHON    the interpreter to build with (default: .venv/bin/python, set up like run.sh does)
#   DIST_DIR  output parent folder (default: dist)   WORK_DIR  PyInstaller's work folder (build)
# Exit codes: 0 built, 3 this machine cannot build a bundle (the message says why), else failed.
set -euo pipefail
cd "$(dirname "$0")/.."

DIST_DIR=${DIST_DIR:-dist}
WORK_DIR=${WORK_DIR:-build}

# PyInstaller reads each library's dependencies with objdump (binutils) on Linux.
if [ "$(uname)" = Linux ] && ! command -v objdump >/dev/null 2>&1; then
    if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "Installing binutils (objdump), which PyInstaller needs"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq >/dev/null
        apt-get install -y -qq --no-install-recommends binutils >/dev/null
    else
        echo "PyInstaller needs objdump: install binutils (sudo apt-get install binutils)" >&2
        exit 3
    fi
fi

if [ -z "${PYTHON:-}" ]; then
    # The README's setup: .venv with the dev extras (PyInstaller is one of them).
    bash scripts/run.sh test --collect-only -q >/dev/null
    PYTHON=.venv/bin/python
fi

# The bundle carries the interpreter as a shared library; a static-only Python cannot be bundled.
if [ "$(uname)" = Linux ]; then
    shared=$("$PYTHON" -c "import sysconfig; print(sysconfig.get_config_var('Py_ENABLE_SHARED') or 0)")
    if [ "$shared" != 1 ]; then
        echo "$PYTHON has no shared libpython (Py_ENABLE_SHARED=$shared): PyInstaller cannot" \
            "bundle it. Use a Python built with --enable-shared (Debian's python3.11, or pyenv" \
            "with PYTHON_CONFIGURE_OPTS=--enable-shared)." >&2
        exit 3
    fi
fi

start=$(date +%s)
"$PYTHON" -m PyInstaller --noconfirm --log-level WARN \
    --distpath "$DIST_DIR" --workpath "$WORK_DIR" pyinstaller.spec
echo "Built $DIST_DIR/RiskManager in $(( $(date +%s) - start )) s: $(du -sh "$DIST_DIR/RiskManager" | cut -f1)"

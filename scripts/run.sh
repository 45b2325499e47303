#!/usr/bin/env bash
# One entry point for a fresh machine: set up .venv (and, as root, the system packages Qt
# needs), then run the demo or the test suite.
#   bash scripts/run.sh demo [args...]   the tray app on the embedded demo gateway
#   bash scripts/run.sh test [pytest args...]
#   bash scripts/run.sh bench            the benchmark tables
#   bash scripts/run.sh setup            only the set-up
set -euo pipefail
cd "$(dirname "$0")/.."

# Qt itself (offscreen too), then its X11 (xcb) platform: without the second group the tray
# app cannot open a window on a Linux desktop (Qt >= 6.5 needs libxcb-cursor0 in particular).
APT_PACKAGES=(libgl1 libegl1 libxkbcommon0 libglib2.0-0 libfontconfig1 libdbus-1-3 fonts-dejavu-core
    libxkbcommon-x11-0 libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-image0
    libxcb-render-util0 libxcb-shape0 libxcb-randr0 libxcb-xkb1 libxcb-xfixes0 libxcb-sync1
    libxcb-shm0 libxcb-util1 libx11-xcb1)

install_system_packages() {
    command -v dpkg-query >/dev/null 2>&1 || return 0
    local missing=()
    for pkg in "${APT_PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ "$(id -u)" -ne 0 ]; then
        echo "Qt needs these system packages: ${missing[*]}" >&2
        echo "  install them with: sudo apt-get install ${missing[*]}" >&2
        return 0
    fi
    echo "Installing system packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

find_python() {
    for candidate in python3.11 python3; do
        if command -v "$candidate" >/dev/null 2>&1 &&
            "$candidate" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else 1)'; then
            echo "$candidate"
            return 0
        fi
    done
    echo "Python 3.11 is required (python3.11 or python3 must be 3.11)" >&2
    return 1
}

setup_venv() {
    local py stamp want
    if [ ! -x .venv/bin/python ]; then
        py=$(find_python)
        "$py" -m venv .venv
    fi
    stamp=.venv/.setup-stamp
    want=$(sha256sum pyproject.toml | cut -d' ' -f1)
    if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
        .venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip
        .venv/bin/python -m pip install -q --disable-pip-version-check -e '.[dev]'
        echo "$want" > "$stamp"
    fi
}

cmd=${1:-test}
shift || true
install_system_packages
setup_venv
case "$cmd" in
    # The tray app; with no display (a server, CI) it runs headless instead of failing. A
    # missing Qt library is named (main.py checks too) instead of ending in Qt's core dump.
    demo)
        if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ] || [ "$(uname)" != Linux ]; then
            exec .venv/bin/python main.py --demo "$@"
        fi
        echo "No display: running the demo headless (Ctrl-C stops it)."
        exec .venv/bin/python main.py --headless --demo "$@" ;;
    setup) echo "Set up: .venv is ready." ;;
    # Style and types first (quick, and a type error often explains a failing test), then the suite.
    test)
        echo "ruff check ..."
        .venv/bin/ruff check .
        echo "mypy (strict on core/) ..."
        .venv/bin/mypy
        exec .venv/bin/python -m pytest "$@" ;;
    bench) exec .venv/bin/python -m bench "$@" ;;
    *) echo "usage: bash scripts/run.sh demo|test|bench|setup [args...]" >&2; exit 2 ;;
esac

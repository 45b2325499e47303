#!/usr/bin/env bash
# Takes the README's screenshots in real windows under a virtual X display, twice: once with a
# tray host (trayer) on the screen, once without one (a desktop like stock GNOME).
#   bash scripts/screenshots.sh [--seconds N]
set -euo pipefail
cd "$(dirname "$0")/.."
X_PACKAGES=(xvfb xauth trayer fonts-dejavu-core libxkbcommon-x11-0 libxcb-cursor0 libxcb-icccm4
    libxcb-keysyms1 libxcb-image0 libxcb-render-util0 libxcb-shape0 libxcb-randr0 libxcb-xkb1)
missing=()
for pkg in "${X_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "Screenshots need: ${missing[*]} (run as root, or: sudo apt-get install ${missing[*]})" >&2
        exit 1
    fi
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
bash scripts/run.sh setup >/dev/null  # sets up .venv (and Qt's system packages) if needed
SCREEN="-screen 0 1400x900x24"

echo "With a tray host:"
xvfb-run -a -s "$SCREEN" bash -c '
    trayer --edge bottom --align right --widthtype request --height 28 --transparent false \
        --tint 0x303030 --SetDockType true >/dev/null 2>&1 &
    tray=$!
    sleep 1
    .venv/bin/python scripts/take_screenshots.py --tray "$@"
    code=$?
    kill $tray 2>/dev/null || true
    exit $code' _ "$@"

echo "Without a tray host:"
xvfb-run -a -s "$SCREEN" .venv/bin/python scripts/take_screenshots.py --no-tray "$@"

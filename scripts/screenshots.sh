#!/usr/bin/env bash
# Takes the README's screenshots in real windows under a virtual X display.
set -euo pipefail
cd "$(dirname "$0")/.."
X_PACKAGES=(xvfb xauth libxkbcommon-x11-0 libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1
    libxcb-image0 libxcb-render-util0 libxcb-shape0 libxcb-randr0 libxcb-xkb1)
if ! command -v xvfb-run >/dev/null 2>&1 && [ "$(id -u)" -eq 0 ]; then
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${X_PACKAGES[@]}" >/dev/null
fi
bash scripts/run.sh test --co -q >/dev/null  # sets up .venv if needed
exec xvfb-run -a -s "-screen 0 1280x900x24" .venv/bin/python scripts/take_screenshots.py "$@"

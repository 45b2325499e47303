#!/usr/bin/env bash
# Install a built bundle for the current user, no root needed: the app folder, a menu entry with
# its icon, and riskmanager / riskmanager-cli commands.
#   bash packaging/linux/install.sh [--autostart] [BUNDLE_DIR]   (default: dist/RiskManager)
#   bash packaging/linux/install.sh --uninstall                   (keeps config and state.db)
# Where: ~/.local/opt/RiskManager, $XDG_DATA_HOME/applications/riskmanager.desktop,
#   $XDG_DATA_HOME/icons/hicolor/256x256/apps/riskmanager.png, ~/.local/bin/riskmanager[-cli],
#   and with --autostart $XDG_CONFIG_HOME/autostart/riskmanager.desktop (the same entry as the
#   app's "Start with the computer" checkbox).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"

data_home=${XDG_DATA_HOME:-$HOME/.local/share}
config_home=${XDG_CONFIG_HOME:-$HOME/.config}
prefix=${RISKMANAGER_PREFIX:-$HOME/.local/opt/RiskManager}
bin_dir=$HOME/.local/bin
menu_entry=$data_home/applications/riskmanager.desktop
icon=$data_home/icons/hicolor/256x256/apps/riskmanager.png
login_entry=$config_home/autostart/riskmanager.desktop

autostart=0
bundle=$repo/dist/RiskManager
for arg in "$@"; do
    case "$arg" in
        --autostart) autostart=1 ;;
        --uninstall)
            rm -rf -- "$prefix"
            rm -f -- "$menu_entry" "$icon" "$login_entry" "$bin_dir/riskmanager" "$bin_dir/riskmanager-cli"
            echo "Removed Risk Manager (your config and state.db are kept)."
            exit 0 ;;
        -*) echo "unknown option: $arg" >&2; exit 2 ;;
        *) bundle=$arg ;;
    esac
done
if [ ! -x "$bundle/RiskManager" ]; then
    echo "No bundle at $bundle: build it first (bash packaging/build_bundle.sh)" >&2
    exit 1
fi

# A fresh copy: files of an older version must not linger in _internal.
rm -rf -- "$prefix.new"
mkdir -p "$(dirname "$prefix")"
cp -a "$bundle" "$prefix.new"
rm -rf -- "$prefix"
mv "$prefix.new" "$prefix"

# Exec takes the absolute path: ~/.local/bin is not on every desktop session's PATH.
# (A prefix with spaces would need Exec quoting; the default has none.)
write_entry() {  # template, target
    mkdir -p "$(dirname "$2")"
    sed -e "s|^Exec=.*|Exec=$prefix/RiskManager|" -e "s|^TryExec=.*|TryExec=$prefix/RiskManager|" \
        "$1" > "$2"
}
write_entry "$here/riskmanager.desktop" "$menu_entry"
mkdir -p "$(dirname "$icon")" "$bin_dir"
cp "$repo/packaging/RiskManager.png" "$icon"
ln -sfn "$prefix/RiskManager" "$bin_dir/riskmanager"
ln -sfn "$prefix/RiskManager-cli" "$bin_dir/riskmanager-cli"
message="Installed to $prefix: Risk Manager is in the applications menu"
if [ "$autostart" = 1 ]; then
    write_entry "$here/riskmanager-autostart.desktop" "$login_entry"
    message="$message and starts at login"
fi
echo "$message."

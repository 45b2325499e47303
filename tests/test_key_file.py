"""Setup on a desktop without a keyring: the key file only its user can read, found again at the
next start; and a missing Qt library named by its package instead of a core dump."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import keyring
import keyring.errors
import pytest
from keyring.backends.fail import Keyring as NoKeyring

from core.app.credentials import (
    CredentialsError,
    KeyringUnavailable,
    keyring_available,
    load_api_key,
    read_key_file,
    store_api_key,
    store_api_key_file,
)
from gui.platform_check import packages_for, uses_xcb

USER, KEY = "trader@example.com", "pk_live_abc123"
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def no_keyring() -> Iterator[None]:
    previous = keyring.get_keyring()
    keyring.set_keyring(NoKeyring())
    yield
    keyring.set_keyring(previous)


def test_no_keyring_is_detected_and_storing_says_what_to_do(no_keyring: None) -> None:
    assert not keyring_available()
    with pytest.raises(KeyringUnavailable, match="key file"):
        store_api_key(USER, KEY)


def test_the_key_file_is_readable_only_by_the_user_and_found_at_the_next_start(
    no_keyring: None, tmp_path: Path
) -> None:
    path = tmp_path / "cfg" / "api-key.json"
    path.parent.mkdir()
    path.write_text("old")
    path.chmod(0o644)  # an older, wider file must not keep its mode
    assert store_api_key_file(USER, f" {KEY} ", path) == path
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert json.loads(path.read_text()) == {"username": USER, "api_key": KEY}
    assert load_api_key(USER, env={}, key_file=path) == KEY
    assert load_api_key(USER, env={"PROJECTX_API_KEY": "from-env"}, key_file=path) == "from-env"
    assert read_key_file("someone-else", path) == ""  # another login's key is not used


def test_no_key_anywhere_names_every_way_to_give_one(no_keyring: None, tmp_path: Path) -> None:
    with pytest.raises(CredentialsError) as caught:
        load_api_key(USER, env={}, key_file=tmp_path / "none.json")
    message = str(caught.value)
    assert "keyring" in message and "PROJECTX_API_KEY" in message and "setup window" in message


def test_xcb_libraries_map_to_their_debian_packages() -> None:
    assert packages_for(["libxcb-cursor.so.0", "libxcb-icccm.so.4", "libxcb-keysyms.so.1"]) == [
        "libxcb-cursor0", "libxcb-icccm4", "libxcb-keysyms1"]
    assert uses_xcb({"DISPLAY": ":0"}) is sys.platform.startswith("linux")
    assert uses_xcb({"DISPLAY": ":0", "QT_QPA_PLATFORM": "offscreen"}) is False
    assert uses_xcb({"WAYLAND_DISPLAY": "wayland-0", "DISPLAY": ":0"}) is False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the xcb platform is Linux's")
def test_a_missing_qt_library_is_named_not_a_core_dump(tmp_path: Path) -> None:
    # A Qt folder whose xcb plugin needs a library no system has: the app must say which
    # package to install and exit 1, before Qt could abort.
    script = (
        "import sys, gui.platform_check as pc\n"
        "pc.missing_libraries = lambda qt_dir=None: ['libxcb-cursor.so.0']\n"
        "import main\n"
        "sys.exit(main.run_tray_app(None, None, demo=True))\n"
    )
    env = dict(os.environ, DISPLAY=":99", PYTHONPATH=str(REPO))
    env.pop("QT_QPA_PLATFORM", None)
    env.pop("WAYLAND_DISPLAY", None)
    result = subprocess.run([sys.executable, "-c", script], cwd=REPO, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1, result.stderr
    assert "sudo apt-get install libxcb-cursor0" in result.stderr
    assert "core dumped" not in result.stderr

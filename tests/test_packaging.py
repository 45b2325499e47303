"""The packaging files agree with the spec's bundle layout, the app and each other (no build).

The Inno Setup script cannot be compiled here (ISCC is Windows-only), so it is parsed: sections,
defines, every entry's parameters, and the Pascal blocks' begin/end balance.
"""

from __future__ import annotations

import configparser
import os
import plistlib
import re
import struct
import subprocess
from pathlib import Path, PureWindowsPath
from typing import Any

import pytest
from platformdirs import windows as platformdirs_windows

from core.app import autostart
from core.config import io as config_io
from core.domain.holidays import HOLIDAYS_RESOURCE
from tests.bundle_layout import REPO, SpecLayout, pyproject_version, spec_layout

PACKAGING = REPO / "packaging"
ISS = PACKAGING / "windows" / "RiskManager.iss"
BAT = PACKAGING / "windows" / "build_installer.bat"
SECTIONS = {"Setup", "Languages", "Tasks", "Files", "Icons", "Registry", "Run", "Code"}


@pytest.fixture(scope="module")
def layout() -> SpecLayout:
    return spec_layout()


# --- Inno Setup script parsing ----------------------------------------------------------------

def iss_parse(text: str) -> tuple[dict[str, str], dict[str, list[str]], str]:
    """(#defines, section → its lines, the [Code] text)."""
    defines: dict[str, str] = {}
    sections: dict[str, list[str]] = {}
    current = ""
    lines = text.splitlines()
    for index, raw in enumerate(lines):
        line = raw.strip()
        if line == "[Code]":
            return defines, sections, "\n".join(lines[index + 1:])
        if match := re.fullmatch(r"\[(\w+)\]", line):
            current = match[1]
            assert current not in sections, f"[{current}] appears twice"
            sections[current] = []
        elif match := re.fullmatch(r'#define\s+(\w+)\s+"([^"]*)"', line):
            defines[match[1]] = match[2]
        elif line and not line.startswith((";", "#")):
            assert current, f"line outside any section: {line!r}"
            sections[current].append(line)
    raise AssertionError("no [Code] section")


def iss_entry(line: str, defines: dict[str, str]) -> dict[str, str]:
    """``Name: "value"; Flags: a b`` → {"Name": "value", ...} ("" inside quotes is a quote)."""
    params, buffer, quoted, i = [], "", False, 0
    while i < len(line):
        char = line[i]
        if char == '"':
            if quoted and line[i + 1:i + 2] == '"':
                buffer, i = buffer + '"', i + 2
                continue
            quoted = not quoted
        elif char == ";" and not quoted:
            params.append(buffer)
            buffer = ""
        else:
            buffer += char
        i += 1
    assert not quoted, f"unbalanced quotes in {line!r}"
    params.append(buffer)
    entry = {}
    for param in filter(str.strip, params):
        key, sep, value = param.partition(":")
        assert sep, f"not a 'Name: value' parameter: {param!r} in {line!r}"
        entry[key.strip()] = expand(value.strip(), defines)
    return entry


def expand(value: str, defines: dict[str, str]) -> str:
    def define(match: re.Match[str]) -> str:
        assert match[1] in defines, f"{{#{match[1]}}} is not #defined"
        return defines[match[1]]
    return re.sub(r"\{#(\w+)\}", define, value)


@pytest.fixture(scope="module")
def iss() -> tuple[dict[str, str], dict[str, list[str]], str]:
    return iss_parse(ISS.read_text(encoding="utf-8"))


def entries(iss: tuple[dict[str, str], dict[str, list[str]], str], section: str) -> list[dict[str, str]]:
    defines, sections, _ = iss
    return [iss_entry(line, defines) for line in sections[section]]


def setup_values(iss: tuple[dict[str, str], dict[str, list[str]], str]) -> dict[str, str]:
    defines, sections, _ = iss
    pairs = (line.split("=", 1) for line in sections["Setup"])
    return {key.strip(): expand(value.strip(), defines) for key, value in pairs}


def from_iss_dir(source: str) -> Path:
    """A Source path as ISCC reads it: relative to the script's folder, Windows separators."""
    return Path(os.path.normpath(ISS.parent.joinpath(*PureWindowsPath(source).parts)))


# --- Inno Setup script ------------------------------------------------------------------------

def test_iss_has_every_section_and_its_setup_matches_the_project(iss: Any) -> None:
    _, sections, _ = iss
    assert {*sections, "Code"} >= SECTIONS
    setup = setup_values(iss)
    assert setup["AppVersion"] == pyproject_version()
    assert setup["AppId"].startswith("{{")  # a fixed id, brace escaped
    assert setup["PrivilegesRequired"] == "lowest"  # per user, like the HKCU login entry
    assert setup["DefaultDirName"] == r"{autopf}\RiskManager"
    assert from_iss_dir(setup["SetupIconFile"]) == PACKAGING / "RiskManager.ico"
    assert from_iss_dir(setup["OutputDir"]) == REPO / "dist" / "installer"


def test_iss_files_come_from_the_bundle_folder_the_spec_builds(
    iss: Any, layout: SpecLayout
) -> None:
    files = entries(iss, "Files")
    assert files
    bundle = REPO / "dist" / layout.folder
    known = {bundle / name for name in layout.executables(windows=True)}
    known |= {bundle / path for path in layout.data_files()}
    for entry in files:
        source = from_iss_dir(entry["Source"])
        assert entry["DestDir"].startswith("{app}")
        if source.name == "*":
            # The whole folder: it must be exactly the spec's output, copied recursively.
            assert source.parent == bundle, entry
            assert {"recursesubdirs", "createallsubdirs"} <= set(entry["Flags"].split())
        elif source.is_relative_to(REPO / "dist"):
            assert source in known, f"{source} is not in the bundle the spec builds"
        else:
            assert source.exists(), entry


def test_iss_shortcuts_run_and_registry_use_the_installed_exe(iss: Any, layout: SpecLayout) -> None:
    exe = "{app}\\" + layout.executables(windows=True)[0]
    installed = {"{app}\\" + name for name in layout.executables(windows=True)}
    icons = entries(iss, "Icons")
    assert any(e["Name"].startswith("{group}\\") and e["Filename"] == exe for e in icons)
    for entry in icons:
        assert entry["Filename"] in installed | {"{uninstallexe}"}, entry
    runs = entries(iss, "Run")
    assert runs and all(e["Filename"] in installed for e in runs)

    tasks = {e["Name"] for e in entries(iss, "Tasks")}
    (run_key,) = entries(iss, "Registry")
    # The app's "Start with the computer" reads and writes this very value.
    assert run_key["Root"] == "HKCU"
    assert run_key["Subkey"] == autostart.RUN_KEY
    assert run_key["ValueName"] == autostart.RUN_VALUE
    assert run_key["ValueData"] == f'"{exe}"'
    assert "uninsdeletevalue" in run_key["Flags"].split()
    assert run_key["Tasks"] in tasks
    for entry in icons:
        assert entry.get("Tasks", "autostart") in tasks


def test_iss_code_is_balanced_and_keeps_user_data_unless_asked(iss: Any) -> None:
    defines, _, code = iss
    # Strings and comments out, then every begin/try/case must be closed by an end.
    bare = re.sub(r"'[^']*'|\{[^}]*\}|\(\*.*?\*\)|//[^\n]*", "", code, flags=re.S).lower()
    opened = len(re.findall(r"\b(begin|try|case)\b", bare))
    assert opened and opened == len(re.findall(r"\bend\b", bare))
    assert "function InitializeUninstall(): Boolean;" in code
    assert "procedure CurUninstallStepChanged(CurUninstallStep: TUninstallStep);" in code
    assert "RemoveBox.Checked := False;" in code  # unticked: data is kept by default
    assert "if RemoveUserData then" in code and "DelTree(UserDataDir()" in code
    assert f"RegDeleteValue(HKEY_CURRENT_USER, '{autostart.RUN_KEY}'" in code
    # The folder removed on request is exactly where the app keeps config.toml and state.db.
    assert defines["DataDirName"] == config_io.APP_DIR_NAME
    assert "ExpandConstant('{localappdata}\\{#DataDirName}')" in code


def test_the_uninstallers_data_folder_is_platformdirs_own(monkeypatch: pytest.MonkeyPatch) -> None:
    folders = {"CSIDL_LOCAL_APPDATA": "/LOCALAPPDATA", "CSIDL_APPDATA": "/ROAMING"}
    monkeypatch.setattr(platformdirs_windows, "get_win_folder", folders.__getitem__)
    dirs = platformdirs_windows.Windows(config_io.APP_DIR_NAME, appauthor=False)
    expected = os.path.join("/LOCALAPPDATA", config_io.APP_DIR_NAME)
    assert dirs.user_config_dir == expected  # config.toml
    assert dirs.user_data_dir == expected  # state.db


def test_build_installer_bat_is_crlf_and_names_real_files(layout: SpecLayout) -> None:
    raw = BAT.read_bytes()
    assert raw.count(b"\r\n") == raw.count(b"\n"), "cmd.exe needs CRLF line endings"
    text = raw.decode("ascii")
    assert "pyinstaller.spec" in text and (REPO / "pyinstaller.spec").exists()
    assert r"packaging\windows\RiskManager.iss" in text
    labels = set(re.findall(r"^:(\w+)", text, flags=re.M))
    assert set(re.findall(r"goto (\w+)", text)) <= labels


# --- version resource, icon, plist --------------------------------------------------------------

def test_version_resource_matches_pyproject(layout: SpecLayout) -> None:
    assert (REPO / layout.version_file).exists()

    # PyInstaller eval()s the file with its version-info classes; stand-ins record the calls.
    calls: dict[str, list[tuple[tuple[Any, ...], dict[str, Any]]]] = {}

    def record(kind: str) -> Any:
        def make(*args: Any, **kwargs: Any) -> str:
            calls.setdefault(kind, []).append((args, kwargs))
            return kind
        return make

    names = ("VSVersionInfo", "FixedFileInfo", "StringFileInfo", "StringTable", "StringStruct",
             "VarFileInfo", "VarStruct")
    top = eval((REPO / layout.version_file).read_text(), {n: record(n) for n in names})
    assert top == "VSVersionInfo"
    version = pyproject_version()
    numbers = (*(int(part) for part in version.split(".")), 0)
    ((_, fixed),) = calls["FixedFileInfo"]
    assert fixed["filevers"] == fixed["prodvers"] == numbers
    strings = dict(args for args, _ in calls["StringStruct"])
    assert strings["FileVersion"] == strings["ProductVersion"] == version
    assert strings["OriginalFilename"] == layout.app_name + ".exe"


def test_ico_holds_the_sizes_windows_asks_for() -> None:
    data = (PACKAGING / "RiskManager.ico").read_bytes()
    reserved, kind, count = struct.unpack_from("<HHH", data)
    assert (reserved, kind) == (0, 1) and count >= 4
    sizes = set()
    for index in range(count):
        width, _, _, _, _, bits, length, offset = struct.unpack_from("<BBBBHHII", data, 6 + 16 * index)
        size = width or 256
        sizes.add(size)
        assert bits == 32 and offset + length <= len(data)
        image = data[offset:offset + length]
        if size == 256:
            assert image.startswith(b"\x89PNG")
        else:
            assert image.startswith(b"\x89PNG") or struct.unpack_from("<I", image)[0] == 40
    assert {16, 32, 48, 256} <= sizes
    png = (PACKAGING / "RiskManager.png").read_bytes()
    assert png.startswith(b"\x89PNG") and struct.unpack(">II", png[16:24]) == (256, 256)


def test_macos_plist_makes_a_tray_only_app() -> None:
    info = plistlib.loads((PACKAGING / "macos" / "Info.plist.fragment").read_bytes())
    assert info["LSUIElement"] is True
    assert info["CFBundleIdentifier"] == autostart.LAUNCH_AGENT_LABEL
    assert info["CFBundleShortVersionString"] == pyproject_version()


# --- Linux ------------------------------------------------------------------------------------

def desktop(path_or_text: Path | str) -> configparser.SectionProxy:
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keys are case-sensitive
    text = path_or_text.read_text() if isinstance(path_or_text, Path) else path_or_text
    parser.read_string(text)
    return parser["Desktop Entry"]


@pytest.mark.parametrize("name", ["riskmanager.desktop", "riskmanager-autostart.desktop"])
def test_desktop_files_parse_and_start_the_bundle(name: str, layout: SpecLayout) -> None:
    entry = desktop(PACKAGING / "linux" / name)
    assert entry["Type"] == "Application"
    assert entry["Name"] == autostart.DISPLAY_NAME
    assert entry["Icon"] == autostart.ICON_NAME
    assert Path(entry["Exec"]).name == layout.app_name
    assert entry["Terminal"] == "false"
    # The app's own login entry (core.app.autostart) says the same things.
    written = desktop(autostart.desktop_entry(["/x"]))
    for key in ("Type", "Name", "Icon", "Terminal"):
        assert written[key] == entry[key]


def test_linux_install_script_installs_and_uninstalls_for_the_user(tmp_path: Path) -> None:
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    (bundle / "RiskManager").write_text("#!/bin/sh\necho fake\n")
    (bundle / "RiskManager").chmod(0o755)
    (bundle / "RiskManager-cli").symlink_to("RiskManager")
    home = tmp_path / "home"
    env = {"PATH": os.environ["PATH"], "HOME": str(home)}
    script = str(PACKAGING / "linux" / "install.sh")
    subprocess.run(["bash", script, "--autostart", str(bundle)], env=env, check=True,
                   capture_output=True)
    prefix = home / ".local" / "opt" / "RiskManager"
    menu = desktop(home / ".local/share/applications/riskmanager.desktop")
    login = desktop(home / ".config/autostart/riskmanager.desktop")
    assert menu["Exec"] == login["Exec"] == str(prefix / "RiskManager")
    assert (prefix / "RiskManager-cli").is_symlink()
    assert (home / ".local/share/icons/hicolor/256x256/apps/riskmanager.png").exists()
    assert subprocess.run([home / ".local/bin/riskmanager-cli"], capture_output=True,
                          text=True).stdout == "fake\n"
    subprocess.run(["bash", script, "--uninstall"], env=env, check=True, capture_output=True)
    assert not prefix.exists()
    assert not (home / ".config/autostart/riskmanager.desktop").exists()


def test_shell_scripts_parse() -> None:
    for script in ("build_bundle.sh", "linux/install.sh"):
        subprocess.run(["bash", "-n", str(PACKAGING / script)], check=True)


# --- the data the spec ships is where the code looks for it -----------------------------------

def test_spec_data_lands_where_the_modules_look(layout: SpecLayout) -> None:
    # PyInstaller puts modules' __file__ under the contents folder with the source tree's
    # layout, so a path relative to the repo here is the same path relative to _internal there.
    shipped = {f"{layout.contents_dir}/{p}" for p in (
        config_io.DEFAULT_CONFIG_RESOURCE.relative_to(REPO).as_posix(),
        HOLIDAYS_RESOURCE.relative_to(REPO).as_posix(),
        "resources/icons/protected-16.png",  # gui/icons.py: ICON_DIR = <repo>/resources/icons
        "core/sim/contracts.json",  # core/sim/models.py: importlib.resources.files("core.sim")
    )}
    assert shipped <= set(layout.data_files())
    assert layout.app_name == config_io.APP_DIR_NAME == autostart.APP_NAME

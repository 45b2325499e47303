@echo off
rem Build the Windows installer: a venv with the dev tools, the bundle, then Inno Setup.
rem   packaging\windows\build_installer.bat
rem Needs Python 3.11 (python.org installer: "py -3.11") and Inno Setup 6.3 or newer (ISCC.exe;
rem set ISCC=C:\path\to\ISCC.exe if it is not in the default place).
rem Output: dist\RiskManager\ (the bundle) and dist\installer\RiskManager-Setup-<version>.exe
setlocal
cd /d "%~dp0\..\.."

if exist ".venv\Scripts\python.exe" goto have_venv
echo Creating .venv with Python 3.11
py -3.11 -m venv .venv
if errorlevel 1 python -m venv .venv
if errorlevel 1 goto fail
:have_venv
set "PY=.venv\Scripts\python.exe"
"%PY%" -c "import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else 1)"
if errorlevel 1 (
    echo .venv is not Python 3.11: delete it and install Python 3.11 from python.org
    goto fail
)

echo Installing the app and its build tools into .venv
"%PY%" -m pip install --disable-pip-version-check -q --upgrade pip
if errorlevel 1 goto fail
"%PY%" -m pip install --disable-pip-version-check -q -e ".[dev]"
if errorlevel 1 goto fail

echo Building the bundle (dist\RiskManager)
"%PY%" -m PyInstaller --noconfirm --log-level WARN --distpath dist --workpath build pyinstaller.spec
if errorlevel 1 goto fail

if not defined ISCC if exist "%ProgramFiles(x86)%\Inno Setup 6\ISCC.exe" set "ISCC=%ProgramFiles(x86)%\Inno Setup 6\ISCC.exe"
if not defined ISCC if exist "%ProgramFiles%\Inno Setup 6\ISCC.exe" set "ISCC=%ProgramFiles%\Inno Setup 6\ISCC.exe"
if not defined ISCC if exist "%LOCALAPPDATA%\Programs\Inno Setup 6\ISCC.exe" set "ISCC=%LOCALAPPDATA%\Programs\Inno Setup 6\ISCC.exe"
if not defined ISCC (
    echo Inno Setup 6 not found: install it from jrsoftware.org, or set ISCC to ISCC.exe
    goto fail
)
echo Building the installer with "%ISCC%"
"%ISCC%" /Q "packaging\windows\RiskManager.iss"
if errorlevel 1 goto fail
echo Done: dist\installer
exit /b 0

:fail
echo Build failed.
exit /b 1

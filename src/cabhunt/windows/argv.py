"""Split a Windows command line into argv exactly as the MSVC C runtime does.

makecab.exe and diantz.exe are ordinary CRT console programs, so the arguments they act on are
the ones the CRT start-up code (and ``CommandLineToArgvW``, which follows the same rules since
2008) makes from the raw command line that Sysmon and 4688 record. Substring rules see the raw
string; we see what the program sees.
"""

from __future__ import annotations

_BLANKS = " \t"


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


def split_command_line(cmdline: str) -> list[str]:
    """Return argv for ``cmdline`` (CRT rules; never raises; ``[]`` for an empty line).

    * argv[0] ends at the first space or tab outside double quotes, with no backslash processing
      (a leading blank therefore yields an empty argv[0], as on Windows).
    * Later arguments: 2n backslashes before ``"`` give n backslashes and the quote toggles
      quoting; 2n+1 give n backslashes and a literal ``"``; other backslashes are literal;
      ``""`` inside quotes is a literal ``"`` and quoting continues.
    """
    if not cmdline:
        return []
    text = cmdline.split("\0", 1)[0]  # a C string ends at NUL
    if not text:
        return []
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
                j = i
                while j < n and text[j] == "\\":
                    j += 1
                count = j - i
                if j < n and text[j] == '"':
                    arg.append("\\" * (count // 2))
                    if count % 2:
                        arg.append('"')
                        i = j + 1
                    else:
                        i = j  # the quote is handled below
                else:
                    arg.append("\\" * count)
                    i = j
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

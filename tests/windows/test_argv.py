"""CRT / CommandLineToArgvW argument splitting."""

from __future__ import annotations

import subprocess

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cabhunt.windows.argv import quote_argument, split_command_line


@pytest.mark.parametrize(
    ("tail", "expected"),
    [
        # Microsoft "Parsing C++ command-line arguments" table
        ('"abc" d e', ["abc", "d", "e"]),
        ('a\\\\b d"e f"g h', ["a\\\\b", "de fg", "h"]),
        ('a\\\\\\"b c d', ['a\\"b', "c", "d"]),
        ('a\\\\\\\\"b c" d e', ["a\\\\b c", "d", "e"]),
        ('a"b"" c d', ['ab" c d']),
        # backslashes not before a quote are literal
        ("\\\\host\\share\\f.exe out.cab", ["\\\\host\\share\\f.exe", "out.cab"]),
        ('"\\\\host\\share with space\\a.exe" b', ["\\\\host\\share with space\\a.exe", "b"]),
        # trailing backslash inside quotes escapes nothing when doubled
        ('"C:\\out dir\\\\" x', ["C:\\out dir\\", "x"]),
        ('"C:\\out dir\\" x', ['C:\\out dir" x']),
        # /D value with a quoted part arrives without quotes
        ('/D DiskDirectory1="C:\\out dir"', ["/D", "DiskDirectory1=C:\\out dir"]),
        ('""', [""]),
        ('a "" b', ["a", "", "b"]),
        ("a\tb   c ", ["a", "b", "c"]),
    ],
)
def test_crt_rules(tail: str, expected: list[str]) -> None:
    assert split_command_line("prog " + tail)[1:] == expected


def test_program_name_rule() -> None:
    # argv[0]: quotes group, no backslash processing, ends at the first blank outside quotes
    assert split_command_line('"C:\\Program Files\\x\\makecab.exe" a')[0] == "C:\\Program Files\\x\\makecab.exe"
    assert split_command_line('C:\\a\\"b c" d') == ["C:\\a\\b c", "d"]
    assert split_command_line('"C:\\dir\\"makecab.exe x')[0] == "C:\\dir\\makecab.exe"
    assert split_command_line("makecab.exe") == ["makecab.exe"]


def test_leading_blank_gives_empty_program_name() -> None:
    assert split_command_line(" makecab.exe \\\\h\\s\\f") == ["", "makecab.exe", "\\\\h\\s\\f"]


def test_empty_and_nul() -> None:
    assert split_command_line("") == []
    assert split_command_line("a b\0c d") == ["a", "b"]


@given(st.lists(st.text(alphabet=st.characters(blacklist_characters="\0"), max_size=12), min_size=1, max_size=6))
@settings(max_examples=300, deadline=None)
def test_round_trips_list2cmdline(args: list[str]) -> None:
    line = "prog.exe " + subprocess.list2cmdline(args)
    assert split_command_line(line)[1:] == args


@given(st.lists(st.text(alphabet=st.characters(blacklist_characters="\0"), max_size=12), min_size=1, max_size=6))
@settings(max_examples=300, deadline=None)
def test_round_trips_quote_argument(args: list[str]) -> None:
    line = "prog.exe " + " ".join(quote_argument(a) for a in args)
    assert split_command_line(line)[1:] == args


@given(st.text())
@settings(max_examples=300, deadline=None)
def test_never_raises(text: str) -> None:
    argv = split_command_line(text)
    assert isinstance(argv, list)
    assert all(isinstance(a, str) for a in argv)


@pytest.mark.parametrize(
    ("line", "crt", "shell32"),
    [
        ('prog a"b"" c d', ["prog", 'ab" c d'], ["prog", 'ab"', "c", "d"]),
        ('"a"b c', ["ab", "c"], ["a", "b", "c"]),
        ('p """"', ["p", '"'], ["p", '"']),
        ('p "a b" \\"x\\"', ["p", "a b", '"x"'], ["p", "a b", '"x"']),
    ],
)
def test_two_quoting_styles(line: str, crt: list[str], shell32: list[str]) -> None:
    assert split_command_line(line) == crt
    assert split_command_line(line, "shell32") == shell32


@given(st.lists(st.text(alphabet=st.characters(blacklist_characters="\0"), max_size=12), min_size=1, max_size=6))
@settings(max_examples=200, deadline=None)
def test_shell32_round_trips_list2cmdline(args: list[str]) -> None:
    line = "prog.exe " + subprocess.list2cmdline(args)
    assert split_command_line(line, "shell32")[1:] == args


@given(st.text())
@settings(max_examples=200, deadline=None)
def test_shell32_never_raises(text: str) -> None:
    assert isinstance(split_command_line(text, "shell32"), list)

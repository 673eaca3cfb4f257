"""Windows semantics for makecab/diantz jobs: argv splitting, the makecab grammar, DDF
interpretation, path and host classification. Pure functions (no I/O besides what a caller's
DDF loader does), so detection and investigation agree on what a command line means.
"""

from __future__ import annotations

from cabhunt.windows.argv import quote_argument, split_command_line
from cabhunt.windows.ddf import (
    DdfCabinet,
    DdfFile,
    DdfIssue,
    DdfReference,
    DdfResult,
    decode_ddf,
    interpret_ddf,
    is_standard_variable,
)
from cabhunt.windows.hosts import HostInfo, NetworkConfig, classify_host, decode_ipv6_literal_net, parse_ip
from cabhunt.windows.invocation import (
    Invocation,
    cab_maker,
    default_destination,
    is_renamed,
    parse_invocation,
)
from cabhunt.windows.job import JobAnalysis, analyze_job
from cabhunt.windows.paths import PathInfo, classify_path, normalize_path, resolve_path

__all__ = [
    "DdfCabinet",
    "DdfFile",
    "DdfIssue",
    "DdfReference",
    "DdfResult",
    "HostInfo",
    "Invocation",
    "JobAnalysis",
    "NetworkConfig",
    "PathInfo",
    "analyze_job",
    "cab_maker",
    "classify_host",
    "classify_path",
    "decode_ddf",
    "decode_ipv6_literal_net",
    "default_destination",
    "interpret_ddf",
    "is_renamed",
    "is_standard_variable",
    "normalize_path",
    "parse_invocation",
    "parse_ip",
    "quote_argument",
    "resolve_path",
    "split_command_line",
]

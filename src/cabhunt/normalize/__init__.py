"""Field maps (YAML package data, one per input shape) and the code that turns them into SQL."""

from __future__ import annotations

from cabhunt.normalize.sql import CompiledMap, compile_map

__all__ = ["CompiledMap", "compile_map"]

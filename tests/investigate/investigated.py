"""Investigated scenario alerts for renderer tests (shared by the render test modules)."""

from __future__ import annotations

from cabhunt.investigate import InvestigationContext, investigate
from cabhunt.model import Alert
from tests.investigate import scenarios
from tests.investigate.builder import MiniStore


def investigated(name: str = "webdav_chain") -> tuple[Alert, MiniStore]:
    case = getattr(scenarios, name)()
    alert = investigate([case.alert], InvestigationContext(store=case.store))[0]
    return alert, case.store

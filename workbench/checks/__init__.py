"""The single registry of checks. Adding a check: write one module that calls `register(MyCheck())`
at import, and add its module name to `CHECK_MODULES` (the one registry line)."""

from __future__ import annotations

import importlib

from workbench.checks.base import FAILURE_MODES, GUARDRAILS, Check, CheckResult, Context

__all__ = ["CHECK_MODULES", "FAILURE_MODES", "GUARDRAILS", "Check", "CheckResult", "Context", "all_checks", "register"]

CHECK_MODULES: tuple[str, ...] = (
    "guardrails",
    "coverage",
    "contamination",
    "diversity",
    "drift",
    "artifacts",
    "labels",
    "privacy",
)

_REGISTRY: dict[str, Check] = {}


def register(check: Check) -> Check:
    """Add `check` to the registry; names are unique."""
    if check.name in _REGISTRY and type(_REGISTRY[check.name]) is not type(check):
        raise ValueError(f"two checks are named {check.name!r}")
    _REGISTRY[check.name] = check
    return check


def all_checks() -> dict[str, Check]:
    """Every registered check by name (imports the check modules on first call)."""
    for module in CHECK_MODULES:
        importlib.import_module(f"workbench.checks.{module}")
    return dict(_REGISTRY)

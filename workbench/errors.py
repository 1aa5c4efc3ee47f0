"""Errors for people: each names the problem and the fix, and none hides behind a deep traceback."""

from __future__ import annotations


class WorkbenchError(Exception):
    """Base class: a problem the user can fix. The message says what is wrong and what to do."""


class SchemaError(WorkbenchError, ValueError):
    """A column is missing, misnamed or malformed."""


class InputError(WorkbenchError, ValueError):
    """A file or argument cannot be used as given (unreadable, empty, wrong type, wrong shape)."""


class AnchorChangedError(WorkbenchError):
    """A frozen anchor set no longer matches its manifest: rows were added, removed or edited."""

    def __init__(self, message: str, added: list[str], removed: list[str], edited: list[str]):
        super().__init__(message)
        self.added = added
        self.removed = removed
        self.edited = edited


class WorkbenchWarning(UserWarning):
    """A documented repair was applied to the data (say what and how to avoid it)."""

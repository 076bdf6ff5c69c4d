"""Why a child could not answer, and a submission that raised while being imported."""

from __future__ import annotations

from dataclasses import dataclass


class ChildFailure(Exception):
    """The child could not answer: ``kind`` is timeout, limit, crash, exit or protocol."""

    def __init__(self, kind: str, reason: str) -> None:
        super().__init__(reason)
        self.kind = kind
        self.reason = reason


@dataclass
class ImportFailure:
    """The submission module raised while being imported."""

    description: dict

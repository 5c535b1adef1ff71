"""IfcLoadError: an IFC file that cannot be used, naming the file and the reason."""

from __future__ import annotations

from pathlib import Path


class IfcLoadError(Exception):
    """The IFC file at ``path`` is missing, unreadable, not IFC, or holds nothing the twin can use."""

    def __init__(self, path: str | Path, reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")

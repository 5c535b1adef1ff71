"""Errors in a site file, each naming the file, the line and the place in the document."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class SiteError:
    """One problem in a site file. ``path`` is the dotted place, e.g. ``devices[3].connection.port``. A warning
    (the site works, but not as its author likely meant) never stops a load."""

    file: str
    line: int | None
    path: str
    message: str
    severity: Severity = "error"

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        label = "warning: " if self.severity == "warning" else ""
        return f"{where}: {self.path or '<document>'}: {label}{self.message}"

    @property
    def is_warning(self) -> bool:
        return self.severity == "warning"


class SiteFileError(Exception):
    """A site file that cannot be used; carries every error found, not just the first (warnings: site_problems)."""

    def __init__(self, errors: list[SiteError]) -> None:
        self.errors = errors
        super().__init__("\n".join(str(e) for e in errors))

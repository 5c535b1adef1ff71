"""Errors in a site file, each naming the file, the line and the place in the document."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SiteError:
    """One problem in a site file. ``path`` is the dotted place, e.g. ``devices[3].connection.port``."""

    file: str
    line: int | None
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.path or '<document>'}: {self.message}"


class SiteFileError(Exception):
    """A site file that cannot be used; carries every problem found, not just the first."""

    def __init__(self, errors: list[SiteError]) -> None:
        self.errors = errors
        super().__init__("\n".join(str(e) for e in errors))

"""Text as every database can keep it: lone UTF-16 surrogates (valid in JSON, not in UTF-8) and NUL (refused by
PostgreSQL) are replaced, so a note typed or pasted oddly is kept rather than failing the request."""

from __future__ import annotations


def storable(text: str | None, size: int | None = None) -> str | None:
    """``text`` stripped, cut to ``size`` characters, with what no database stores replaced (None stays None)."""
    if text is None:
        return None
    cleaned = text.encode("utf-8", "replace").decode("utf-8").replace("\x00", "\ufffd").strip()
    return cleaned[:size] if size is not None else cleaned

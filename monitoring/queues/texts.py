"""The queue analytics' user-facing texts, Chinese first (monitoring/queues/i18n/<language>.json)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from twin.site.model import Names

_FOLDER = Path(__file__).resolve().parent / "i18n"


@cache
def catalog(language: str) -> dict[str, str]:
    loaded = json.loads((_FOLDER / f"{language}.json").read_text(encoding="utf-8"))
    if not isinstance(loaded, dict):
        raise ValueError(f"monitoring/queues/i18n/{language}.json must be one JSON object")
    return {str(key): str(value) for key, value in loaded.items()}


def both(key: str, **fields: object) -> dict[str, str]:
    """{"zh": ..., "en": ...}; a Names field gives each language its own variant."""
    out = {}
    for language in ("zh", "en"):
        values = {k: getattr(v, language) if isinstance(v, Names) else v for k, v in fields.items()}
        out[language] = catalog(language)[key].format(**values)
    return out

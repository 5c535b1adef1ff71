"""The broadcast's user-facing texts, Chinese first (broadcast/i18n/<language>.json), filled in per language."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

LANGUAGES = ("zh", "en")
_FOLDER = Path(__file__).resolve().parent / "i18n"


@cache
def catalog(language: str) -> dict[str, str]:
    loaded = json.loads((_FOLDER / f"{language}.json").read_text(encoding="utf-8"))
    if not isinstance(loaded, dict):
        raise ValueError(f"broadcast/i18n/{language}.json must be one JSON object")
    return {str(key): str(value) for key, value in loaded.items()}


def text(key: str, language: str, **fields: object) -> str:
    return catalog(language)[key].format(**fields)


def both(key: str, **fields: object) -> dict[str, str]:
    """``{"zh": ..., "en": ...}`` of one template."""
    return {language: text(key, language, **fields) for language in LANGUAGES}

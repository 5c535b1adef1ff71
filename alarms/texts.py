"""The alarm engine's user-facing texts, Chinese first (alarms/i18n/<language>.json), filled in per language."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from twin.site.model import Names

LANGUAGES = ("zh", "en")
_FOLDER = Path(__file__).resolve().parent / "i18n"


@cache
def catalog(language: str) -> dict[str, str]:
    loaded = json.loads((_FOLDER / f"{language}.json").read_text(encoding="utf-8"))
    if not isinstance(loaded, dict):
        raise ValueError(f"alarms/i18n/{language}.json must be one JSON object")
    return {str(key): str(value) for key, value in loaded.items()}


def text(key: str, language: str, **fields: object) -> str:
    """A Names field gives its own language's variant."""
    values = {k: getattr(v, language) if isinstance(v, Names) else v for k, v in fields.items()}
    return catalog(language)[key].format(**values)


def names(key: str, **fields: object) -> Names:
    return Names(zh=text(key, "zh", **fields), en=text(key, "en", **fields))

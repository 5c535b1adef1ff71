"""User-facing texts of the product code, Chinese first (house rule 11): one JSON file of templates per language.

Templates use ``str.format`` fields. A field given as ``Names`` takes the variant of the language being
rendered, so "{device} 通信中断" gets the device's Chinese name and "{device}: communication lost" its English one.
Every language file must have the same keys with the same fields; ``check_catalogs`` says which ones differ.
"""

from __future__ import annotations

import json
import string
from functools import cache
from pathlib import Path

from twin.site.model import Names

LANGUAGES = ("zh", "en")  # Chinese first
_FOLDER = Path(__file__).resolve().parent


class MissingText(LookupError):
    """No template under this key in a language file."""


@cache
def catalog(language: str) -> dict[str, str]:
    """The templates of one language, read once from ``twin/i18n/<language>.json``."""
    path = _FOLDER / f"{language}.json"
    try:
        loaded = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ValueError(f"i18n file {path}: {exc}") from exc
    if not isinstance(loaded, dict) or not all(isinstance(v, str) for v in loaded.values()):
        raise ValueError(f"i18n file {path}: must be one JSON object of text templates")
    return loaded


def text(key: str, language: str, **fields: str | Names) -> str:
    """The template ``key`` of ``language`` with its fields filled in."""
    template = catalog(language).get(key)
    if template is None:
        raise MissingText(f"no text {key!r} in {_FOLDER / f'{language}.json'}")
    values = {name: getattr(value, language) if isinstance(value, Names) else value for name, value in fields.items()}
    return template.format(**values)


def names(key: str, **fields: str | Names) -> Names:
    """The text ``key`` in every language, as the site model's bilingual Names."""
    return Names(zh=text(key, "zh", **fields), en=text(key, "en", **fields))


def check_catalogs() -> list[str]:
    """Problems between the language files (missing keys, different fields); empty when they agree."""
    problems: list[str] = []
    first, *others = LANGUAGES
    reference = catalog(first)
    for language in others:
        other = catalog(language)
        for key in sorted(reference.keys() ^ other.keys()):
            problems.append(f"{key}: only in {first if key in reference else language}.json")
        for key in sorted(reference.keys() & other.keys()):
            if _fields(reference[key]) != _fields(other[key]):
                problems.append(f"{key}: fields differ between {first}.json and {language}.json")
    return problems


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}

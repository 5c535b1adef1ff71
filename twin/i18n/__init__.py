"""User-facing texts of the product code, Chinese first (house rule 11): one JSON file of templates per language.

Templates use ``str.format`` fields. A field given as ``Names`` takes the variant of the language being
rendered, so "{device} 通信中断" gets the device's Chinese name and "{device}: communication lost" its English one.
Every language file must have the same keys with the same fields; ``Catalog.check`` says which ones differ. Other
packages (alarms, broadcast, queues) keep their own files in a ``Catalog`` of their own.
"""

from __future__ import annotations

import json
import string
from pathlib import Path

from twin.site.model import Names

LANGUAGES = ("zh", "en")  # Chinese first


class MissingText(LookupError):
    """No template under this key in a language file."""


class Catalog:
    """The language files of one package's user-facing texts (``<folder>/<language>.json``), read once each."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._loaded: dict[str, dict[str, str]] = {}

    def catalog(self, language: str) -> dict[str, str]:
        """The templates of one language."""
        loaded = self._loaded.get(language)
        if loaded is None:
            loaded = self._loaded[language] = self._read(self.folder / f"{language}.json")
        return loaded

    @staticmethod
    def _read(path: Path) -> dict[str, str]:
        try:
            loaded = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise ValueError(f"i18n file {path}: {exc}") from exc
        if not isinstance(loaded, dict) or not all(isinstance(v, str) for v in loaded.values()):
            raise ValueError(f"i18n file {path}: must be one JSON object of text templates")
        return loaded

    def text(self, key: str, language: str, **fields: object) -> str:
        """The template ``key`` of ``language`` with its fields filled in."""
        template = self.catalog(language).get(key)
        if template is None:
            raise MissingText(f"no text {key!r} in {self.folder / f'{language}.json'}")
        values = {
            name: getattr(value, language) if isinstance(value, Names) else value for name, value in fields.items()
        }
        return template.format(**values)

    def names(self, key: str, **fields: object) -> Names:
        """The text ``key`` in every language, as the site model's bilingual Names."""
        return Names(zh=self.text(key, "zh", **fields), en=self.text(key, "en", **fields))

    def both(self, key: str, **fields: object) -> dict[str, str]:
        """``{"zh": ..., "en": ...}`` of one template (the JSON form of Names)."""
        return {language: self.text(key, language, **fields) for language in LANGUAGES}

    def check(self) -> list[str]:
        """Problems between the language files (missing keys, different fields); empty when they agree."""
        problems: list[str] = []
        first, *others = LANGUAGES
        reference = self.catalog(first)
        for language in others:
            other = self.catalog(language)
            for key in sorted(reference.keys() ^ other.keys()):
                problems.append(f"{key}: only in {first if key in reference else language}.json")
            for key in sorted(reference.keys() & other.keys()):
                if _fields(reference[key]) != _fields(other[key]):
                    problems.append(f"{key}: fields differ between {first}.json and {language}.json")
        return problems


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


# The texts of the twin, the gateway and the API (twin/i18n/<language>.json).
TEXTS = Catalog(Path(__file__).resolve().parent)
catalog = TEXTS.catalog
text = TEXTS.text
names = TEXTS.names
check_catalogs = TEXTS.check

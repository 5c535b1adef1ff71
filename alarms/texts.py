"""The alarm engine's user-facing texts, Chinese first (alarms/i18n/<language>.json), filled in per language."""

from __future__ import annotations

from pathlib import Path

from twin.i18n import Catalog

TEXTS = Catalog(Path(__file__).resolve().parent / "i18n")
text = TEXTS.text
names = TEXTS.names
both = TEXTS.both

"""The product's i18n texts: every language has every key with the same fields; Names fields render per language."""

from __future__ import annotations

import pytest

from twin import i18n
from twin.site.model import Names


def test_language_files_agree() -> None:
    assert i18n.LANGUAGES[0] == "zh"  # Chinese first
    assert i18n.check_catalogs() == []


def test_names_fields_take_the_variant_of_each_language() -> None:
    name = i18n.names("point.comm_lost", device=Names(zh="空调", en="AC unit"))
    assert (name.zh, name.en) == ("空调 通信中断", "AC unit: communication lost")


def test_missing_text_names_key_and_file() -> None:
    with pytest.raises(i18n.MissingText, match=r"no text 'nope' in .*zh\.json"):
        i18n.text("nope", "zh")

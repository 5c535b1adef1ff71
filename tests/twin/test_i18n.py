"""The product's i18n texts: every language has every key with the same fields; Names fields render per language."""

from __future__ import annotations

from pathlib import Path

import pytest

from alarms import texts as alarm_texts
from broadcast import texts as broadcast_texts
from monitoring.queues import texts as queue_texts
from twin import i18n
from twin.site.model import Names


@pytest.mark.parametrize("texts", [i18n.TEXTS, alarm_texts.TEXTS, broadcast_texts.TEXTS, queue_texts.TEXTS],
                         ids=["twin", "alarms", "broadcast", "queues"])  # fmt: skip
def test_language_files_agree(texts: i18n.Catalog) -> None:
    assert i18n.LANGUAGES[0] == "zh"  # Chinese first
    assert texts.check() == []


def test_a_broken_language_file_is_named(tmp_path: Path) -> None:
    (tmp_path / "zh.json").write_text("[1, 2]", encoding="utf-8")
    (tmp_path / "en.json").write_text("{nope", encoding="utf-8")
    with pytest.raises(ValueError, match=r"zh\.json: must be one JSON object"):
        i18n.Catalog(tmp_path).text("a", "zh")
    with pytest.raises(ValueError, match=r"en\.json: Expecting property name"):
        i18n.Catalog(tmp_path).text("a", "en")


def test_names_fields_take_the_variant_of_each_language() -> None:
    name = i18n.names("point.comm_lost", device=Names(zh="空调", en="AC unit"))
    assert (name.zh, name.en) == ("空调 通信中断", "AC unit: communication lost")


def test_missing_text_names_key_and_file() -> None:
    with pytest.raises(i18n.MissingText, match=r"no text 'nope' in .*zh\.json"):
        i18n.text("nope", "zh")

"""The free-text pattern: a text that is only white space to pydantic, to an ECMAScript client or to str.strip is
refused by the schema, and every other text is accepted (schemathesis once sent a U+0085 reason it took as text)."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, Field, ValidationError

from api.text_fields import SOME_TEXT, WHITE_SPACE

# ECMAScript's \s (ECMA-262 WhiteSpace and LineTerminator): the set a JSON-schema client generates against.
ECMASCRIPT_SPACE = set("\t\n\v\f\r \xa0\u1680\u2028\u2029\u202f\u205f\u3000\ufeff")
ECMASCRIPT_SPACE |= {chr(c) for c in range(0x2000, 0x200B)}


class Reason(BaseModel):
    reason: str = Field(min_length=1, pattern=SOME_TEXT)


def accepted(text: str) -> bool:
    try:
        Reason(reason=text)
    except ValidationError:
        return False
    return True


def test_white_space_of_every_engine_is_refused_alone_and_accepted_around_text() -> None:
    python_space = {chr(c) for c in range(0x110000) if chr(c).isspace()}
    assert python_space | ECMASCRIPT_SPACE == set(WHITE_SPACE)
    for space in WHITE_SPACE:
        assert not accepted(space * 3), hex(ord(space))
        assert accepted(f"{space}门禁故障{space}"), hex(ord(space))


@pytest.mark.parametrize("text", ["x", "火警", "\u200b", "\x00", "\x1b", "\U0001f525"])
def test_any_other_character_is_text(text: str) -> None:
    assert accepted(text)


def test_the_whole_plane_agrees_with_the_written_set() -> None:
    wrong = [hex(c) for c in range(0x3100) if accepted(chr(c)) == (chr(c) in WHITE_SPACE)]
    assert not wrong

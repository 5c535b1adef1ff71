"""'Did you mean ...?' for site-file errors: the closest known key or value, by difflib's similarity ratio.

difflib is enough here: the candidates are a few dozen field names or enumeration values, and a typo in a site
file is one or two characters off. No suggestion is better than a wrong one, hence the 0.6 cutoff.
"""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Iterable, Sequence
from enum import Enum
from typing import Any, Literal, Union

from pydantic import BaseModel

CUTOFF = 0.6


def closest(word: str, candidates: Iterable[str]) -> str | None:
    """The candidate most like ``word`` (case-insensitive), or None when none is close enough."""
    pool = {str(c).lower(): str(c) for c in candidates if str(c) != word}
    found = difflib.get_close_matches(word.lower(), list(pool), n=1, cutoff=CUTOFF)
    return pool[found[0]] if found else None


def did_you_mean(word: object, candidates: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` or the empty string."""
    if not isinstance(word, str):
        return ""
    match = closest(word, candidates)
    return f" (did you mean {match!r}?)" if match else ""


def _unwrap(annotation: Any) -> list[Any]:
    """The concrete types an annotation may hold: Optional, unions and Annotated unwrapped."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(annotation)[0])
    if origin in (Union, types.UnionType):
        return [t for arg in typing.get_args(annotation) for t in _unwrap(arg)]
    return [annotation]


def model_at(root: type[BaseModel], loc: Sequence[str | int]) -> type[BaseModel] | None:
    """The pydantic model that holds the last key of ``loc`` (a path as pydantic reports it, with union tags such
    as ``modbus_tcp``), or None when the path leaves the models."""
    current: list[Any] = [root]
    for part in loc[:-1]:
        following: list[Any] = []
        for candidate in current:
            if isinstance(candidate, type) and issubclass(candidate, BaseModel):
                if isinstance(part, str) and part in candidate.model_fields:
                    following.extend(_unwrap(candidate.model_fields[part].annotation))
                elif isinstance(part, str) and _tag(candidate) == part:
                    following.append(candidate)  # the union member pydantic tried, named by its type tag
            elif typing.get_origin(candidate) in (list, tuple) and isinstance(part, int):
                following.extend(_unwrap(typing.get_args(candidate)[0]))
            elif typing.get_origin(candidate) is dict and isinstance(part, str):
                following.extend(_unwrap(typing.get_args(candidate)[1]))
        current = following
    models = [c for c in current if isinstance(c, type) and issubclass(c, BaseModel)]
    return models[0] if len(models) == 1 else None


def _tag(model: type[BaseModel]) -> str | None:
    """The ``type:`` literal of a discriminated-union member (``ModbusConnection`` -> ``modbus_tcp``)."""
    field = model.model_fields.get("type")
    if field is None or typing.get_origin(field.annotation) is not Literal:
        return None
    args = typing.get_args(field.annotation)
    return str(args[0]) if len(args) == 1 else None


def field_names(root: type[BaseModel], loc: Sequence[str | int]) -> list[str]:
    """The keys allowed beside the last key of ``loc``: the fields of the model that holds it."""
    model = model_at(root, loc)
    return list(model.model_fields) if model is not None else []


def allowed_values(expected: object) -> list[str]:
    """The values a pydantic enum/literal error allows, from its ``ctx['expected']`` ("'a', 'b' or 'c'")."""
    if not isinstance(expected, str):
        return []
    return [part.strip().strip("'\"") for part in expected.replace(" or ", ", ").split(",") if part.strip()]


def enum_values(enum: type[Enum]) -> list[str]:
    return [str(member.value) for member in enum]


def within_one_edit(a: str, b: str) -> bool:
    """True when ``b`` is ``a`` with one character changed, added or removed (or ``a`` itself)."""
    if abs(len(a) - len(b)) > 1:
        return False
    if len(a) > len(b):
        a, b = b, a
    i = 0
    while i < len(a) and a[i] == b[i]:
        i += 1
    if len(a) == len(b):
        return a[i + 1 :] == b[i + 1 :]
    return a[i:] == b[i + 1 :]


def nearest_ids(word: str, candidates: Iterable[str]) -> list[str]:
    """Identifiers one typo from ``word`` (a character changed, added or removed) or differing only in letter
    case (GlobalIds are case-sensitive, and some tools upper-case them), the case-only ones first."""
    folded = word.casefold()
    same_letters: list[str] = []
    one_typo: list[str] = []
    for candidate in candidates:
        if candidate == word:
            continue
        if candidate.casefold() == folded:
            same_letters.append(candidate)
        elif within_one_edit(word, candidate):
            one_typo.append(candidate)
    return sorted(same_letters) + sorted(one_typo)

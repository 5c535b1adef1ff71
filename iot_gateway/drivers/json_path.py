"""Dotted JSON paths (``$.counts.in``, ``zones[2].temp``): parse once, read from a payload, write into a payload."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

Segment = str | int
_TOKEN = re.compile(r"\.?([A-Za-z_][A-Za-z0-9_\-]*)|\[(\d+)\]")


class PathMissing(LookupError):
    """The payload has no value at this path (a key or index is absent, or a step is not a container)."""


@lru_cache(maxsize=4096)
def parse(path: str) -> tuple[Segment, ...]:
    """``$.a.b[0].c`` -> ("a", "b", 0, "c"). The site model already checked the syntax; this re-checks it because
    simulators and tests build paths too, and a silent mis-parse would map a value to the wrong point."""
    text = path[1:] if path.startswith("$") else path
    segments: list[Segment] = []
    position = 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            raise ValueError(f"json_path {path!r}: cannot parse at character {position + len(path) - len(text)}")
        key, index = match.groups()
        segments.append(key if key is not None else int(index))
        position = match.end()
    if not segments:
        raise ValueError(f"json_path {path!r} is empty")
    return tuple(segments)


def get(payload: Any, path: str) -> Any:
    """The value at ``path``; PathMissing when any step is absent or has the wrong container type."""
    node = payload
    for segment in parse(path):
        if isinstance(segment, str):
            if not isinstance(node, dict) or segment not in node:
                raise PathMissing(path)
            node = node[segment]
        else:
            if not isinstance(node, list) or segment >= len(node):
                raise PathMissing(path)
            node = node[segment]
    return node


def put(payload: dict[str, Any], path: str, value: Any) -> None:
    """Set ``path`` in ``payload``, creating objects and lists on the way (lists are padded with None)."""
    segments = parse(path)
    if not isinstance(segments[0], str):
        raise ValueError(f"json_path {path!r}: a payload is a JSON object, so the path must start with a key")
    node: Any = payload
    for segment, following in zip(segments, segments[1:], strict=False):
        fresh: Any = {} if isinstance(following, str) else []
        node = _child(node, segment, fresh, path)
    _assign(node, segments[-1], value, path)


def _child(node: Any, segment: Segment, fresh: Any, path: str) -> Any:
    if isinstance(segment, str):
        if not isinstance(node, dict):
            raise ValueError(f"json_path {path!r}: {segment!r} needs an object, found {type(node).__name__}")
        existing = node.get(segment)
        if not isinstance(existing, type(fresh)):
            node[segment] = existing = fresh
        return existing
    if not isinstance(node, list):
        raise ValueError(f"json_path {path!r}: [{segment}] needs a list, found {type(node).__name__}")
    node.extend([None] * (segment + 1 - len(node)))
    if not isinstance(node[segment], type(fresh)):
        node[segment] = fresh
    return node[segment]


def _assign(node: Any, segment: Segment, value: Any, path: str) -> None:
    if isinstance(segment, str):
        if not isinstance(node, dict):
            raise ValueError(f"json_path {path!r}: {segment!r} needs an object")
        node[segment] = value
        return
    if not isinstance(node, list):
        raise ValueError(f"json_path {path!r}: [{segment}] needs a list")
    node.extend([None] * (segment + 1 - len(node)))
    node[segment] = value


def remove(payload: dict[str, Any], path: str) -> None:
    """Delete the value at ``path`` if present (a simulator's point that has no value yet is left out)."""
    segments = parse(path)
    try:
        parent = get(payload, _format(segments[:-1])) if len(segments) > 1 else payload
    except PathMissing:
        return
    last = segments[-1]
    if isinstance(last, str) and isinstance(parent, dict):
        parent.pop(last, None)
    elif isinstance(last, int) and isinstance(parent, list) and last < len(parent):
        parent[last] = None


def _format(segments: tuple[Segment, ...]) -> str:
    return "".join(f"[{s}]" if isinstance(s, int) else f".{s}" for s in segments).lstrip(".")

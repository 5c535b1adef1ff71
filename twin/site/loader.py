"""Load and check a site file: YAML, the pydantic model, cross-references and IFC GlobalIds, all in one pass.

Every problem is collected with its file and line, whatever stage finds it, and reported sorted by line: one run
of ``halltwin check`` lists them all (the schema does not have to be right before a dangling zone is found).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from twin.site.checks import GuidIndex, Path_, check_references, format_path
from twin.site.checks_alarms import check_alarms
from twin.site.checks_broadcast import check_broadcast
from twin.site.checks_computed import check_computed
from twin.site.checks_followup import check_followup
from twin.site.checks_wayfinding import check_wayfinding
from twin.site.errors import SiteError, SiteFileError
from twin.site.guid_checks import check_guids, check_zone_spaces, guid_hint, malformed_guid
from twin.site.ifc_facts import ModelFacts, facts_of, read_model_facts
from twin.site.model import SiteConfig
from twin.site.suggest import allowed_values, did_you_mean, field_names
from twin.site.yaml_positions import PositionedYaml

__all__ = ["GuidIndex", "format_path", "ifc_guid_index", "load_site", "site_problems"]


def ifc_guid_index(ifc_path: Path) -> ModelFacts:
    """GlobalId -> class of every rooted entity of an IFC file, with names, undrawn elements and the spatial
    tree's rooms (ifcopenshell is imported only when a site is checked against its model)."""
    return read_model_facts(ifc_path)


def load_site(
    path: str | Path,
    guid_index: GuidIndex | Callable[[Path], GuidIndex] | None = ifc_guid_index,
) -> SiteConfig:
    """Read ``path`` and return the checked site, or raise SiteFileError listing every error in line order
    (warnings do not stop a load; site_problems returns them).

    ``guid_index`` checks each ``ifc_guid`` against the building model named in the file; pass ``None`` to skip
    that check (for tools that only need the device list).
    """
    site, problems = site_problems(path, guid_index)
    errors = [p for p in problems if not p.is_warning]
    if errors or site is None:
        raise SiteFileError(errors)
    return site


def site_problems(
    path: str | Path,
    guid_index: GuidIndex | Callable[[Path], GuidIndex] | None = ifc_guid_index,
) -> tuple[SiteConfig | None, list[SiteError]]:
    """The site (None when the schema refuses it) and every problem found, errors and warnings, sorted by line."""
    path = Path(path)
    name = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return None, [SiteError(name, None, "", f"cannot read the site file: {exc}")]

    document = PositionedYaml(text)
    problems = [SiteError(name, p.line, format_path(p.path), p.message) for p in document.problems]
    if document.root is None:  # a syntax error (or an empty file): there is no document to check further
        return None, problems or [SiteError(name, 1, "", "the site file is empty")]
    data = document.data
    if not isinstance(data, dict):
        return None, [*problems, SiteError(name, 1, "", "the site file must be a mapping with site:, zones:, devices:")]

    def error(where: Path_, message: str) -> SiteError:
        return SiteError(name, document.line_of(where), format_path(where), message)

    def warning(where: Path_, message: str) -> SiteError:
        return SiteError(name, document.line_of(where), format_path(where), message, "warning")

    index, index_problems = _model_index(path, data, guid_index, error)
    problems.extend(index_problems)
    site: SiteConfig | None = None
    try:
        site = SiteConfig.model_validate(data)
    except ValidationError as exc:
        problems.extend(_from_pydantic(item, data, error, index) for item in exc.errors())
    problems.extend(check_references(data, error))
    problems.extend(check_followup(data, error))
    problems.extend(check_alarms(data, error))
    problems.extend(check_broadcast(data, error))
    problems.extend(check_computed(data, error))
    problems.extend(check_zone_spaces(data, warning))
    problems.extend(check_wayfinding(data, error, warning, index))
    if index is not None:
        problems.extend(check_guids(data, index, str(data["site"]["ifc"]), error, warning))
    return site, _in_line_order(problems)


def _model_index(
    path: Path,
    data: dict[str, Any],
    guid_index: GuidIndex | Callable[[Path], GuidIndex] | None,
    error: Callable[[Path_, str], SiteError],
) -> tuple[GuidIndex | None, list[SiteError]]:
    """The building model's index (None: not asked for, no model named, or unreadable) and why it is missing."""
    info = data.get("site")
    ifc = info.get("ifc") if isinstance(info, dict) else None
    if guid_index is None or not isinstance(ifc, str) or not ifc:
        return None, []  # no check asked for, or no model named (the schema reports a missing site.ifc)
    if isinstance(guid_index, Mapping):
        return guid_index, []
    ifc_path = (path.parent / ifc).resolve()
    if not ifc_path.is_file():
        return None, [error(("site", "ifc"), f"the building model {ifc_path} does not exist")]
    try:
        return guid_index(ifc_path), []
    except Exception as exc:  # any failure to read the model is a problem of this site file
        return None, [error(("site", "ifc"), f"cannot read the building model {ifc_path}: {exc}")]


def _in_line_order(problems: list[SiteError]) -> list[SiteError]:
    """Sorted by line (problems without a line last), each reported once."""
    unique = list(dict.fromkeys(problems))
    return sorted(unique, key=lambda e: (e.line is None, e.line or 0))


def _from_pydantic(
    item: Any, data: Any, error: Callable[[Path_, str], SiteError], index: GuidIndex | None
) -> SiteError:
    loc: Path_ = tuple(item["loc"])
    kind = item["type"]
    ctx = item.get("ctx") or {}
    given = item.get("input")
    if kind == "string_pattern_mismatch" and loc and loc[-1] == "ifc_guid" and isinstance(given, str):
        hint = guid_hint(given, facts_of(index), _readable(loc, data)) if index is not None else ""
        message = malformed_guid(given) + hint
    elif kind == "extra_forbidden":
        message = f"unknown key {loc[-1]!r}" + did_you_mean(loc[-1], _free_keys(loc, data))
    elif kind == "missing":
        message = f"missing required key {loc[-1]!r}"
    elif kind == "union_tag_invalid":
        tags = allowed_values(ctx.get("expected_tags"))
        message = f"type must be one of {', '.join(tags)}, got {ctx.get('tag')!r}{did_you_mean(ctx.get('tag'), tags)}"
        loc = (*loc, "type")
    else:
        message = str(item["msg"]).removeprefix("Value error, ")
        if kind in ("enum", "literal_error"):
            message += did_you_mean(given, allowed_values(ctx.get("expected")))
        if given is not None and not isinstance(given, dict | list) and repr(given) not in message:
            message += f" (got {given!r})"
    return error(_readable(loc, data), message)


def _free_keys(loc: Path_, data: Any) -> list[str]:
    """Keys the model allows at ``loc`` that the mapping does not use yet (the likely intended spelling)."""
    allowed = field_names(SiteConfig, loc)
    node = data
    for part in _readable(loc[:-1], data):
        node = node[part] if isinstance(node, dict | list) and _has(node, part) else None  # type: ignore[index]
    used = set(node) if isinstance(node, dict) else set()
    return [key for key in allowed if key not in used]


def _has(node: dict[str, Any] | list[Any], part: str | int) -> bool:
    if isinstance(node, dict):
        return part in node
    return isinstance(part, int) and 0 <= part < len(node)


def _readable(loc: Path_, data: Any) -> Path_:
    """Drop the union tags pydantic puts in paths (``connection.modbus_tcp.port`` -> ``connection.port``)."""
    out: list[str | int] = []
    node = data
    for part in loc:
        if isinstance(node, dict) and part in node:
            node = node[part]
            out.append(part)
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
            out.append(part)
        elif isinstance(node, dict) and node.get("type") == part:
            continue
        else:
            out.append(part)
            node = None
    return tuple(out)

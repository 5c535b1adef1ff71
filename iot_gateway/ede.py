"""BACnet EDE files (Engineering Data Exchange, B.I.G.-EU layout 2.x) read into the devices and objects they list.

An EDE set is semicolon-separated CSV: the main file (``<project>_EDE.csv``: a few header lines such as
``PROJECT_NAME;..`` and ``VERSION_OF_LAYOUT;2.3``, comment lines starting with ``#``, then one row per object:
keyname; device obj.-instance; object-name; object-type; object-instance; description; present-value-default;
min-present-value; max-present-value; settable; supports COV; hi-limit; low-limit; state-text-reference;
unit-code; vendor-specific-address), and optional companions: ``<project>_StateTexts.csv`` (reference number;
text 1 or inactive text; text 2 or active text; ...) and ``<project>_Units.csv`` (code; unit text) for units the
standard does not number. Object types and units are BACnet enumeration numbers; names come from
twin.site.bacnet_names. Files come from Windows tools in UTF-8 (with or without BOM) or, in China, GBK/GB18030.
Every problem is an EdeError naming file and line; the result is turned into site.yaml by site_fragment.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

from iot_gateway.site_fragment import DiscoveredDevice, DiscoveredObject
from twin.site.bacnet_names import ENGINEERING_UNITS, OBJECT_TYPES, PROPRIETARY_OBJECT_TYPES

OBJECT_TYPE_NAMES = {number: name for name, number in OBJECT_TYPES.items()}
DEVICE_TYPE = OBJECT_TYPES["device"]
MAX_INSTANCE = 4_194_302
MANDATORY = ("keyname", "device obj.-instance", "object-name", "object-type", "object-instance")
# Column positions of the published layout (2.2 and 2.3 agree on these).
DESCRIPTION, STATE_TEXT_REFERENCE, UNIT_CODE = 5, 13, 14
# Tried in this order: UTF-8 (BOM or not) fails loudly on GBK bytes, so a Chinese Windows file falls through to
# GB18030, the superset of GBK and GB2312.
ENCODINGS = ("utf-8-sig", "gb18030")


class EdeError(ValueError):
    """A problem in an EDE file, with the file and line it is on."""

    def __init__(self, source: str, line: int | None, message: str) -> None:
        self.source, self.line, self.message = source, line, message
        super().__init__(f"{source}:{line}: {message}" if line else f"{source}: {message}")


@dataclass(frozen=True, slots=True)
class EdeProject:
    """What an EDE set describes: its project name and layout version, and the devices with their objects."""

    name: str
    layout_version: str
    devices: tuple[DiscoveredDevice, ...]


def read_text(path: Path, encoding: str | None = None) -> str:
    """The file's text in ``encoding``, or the first of ENCODINGS that decodes it."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise EdeError(str(path), None, f"cannot read the file: {exc.strerror or exc}") from None
    for candidate in (encoding,) if encoding else ENCODINGS:
        try:
            return data.decode(candidate)
        except UnicodeDecodeError as exc:
            failure = exc
        except LookupError:
            raise EdeError(str(path), None, f"unknown encoding {encoding!r}") from None
    line = data[: failure.start].count(b"\n") + 1
    tried = encoding or " or ".join(ENCODINGS)
    raise EdeError(str(path), line, f"the file is not {tried} text (give --encoding)")


def _rows(text: str) -> list[tuple[int, list[str]]]:
    """(line number, fields) of every non-empty line that is not a comment; fields stripped of blanks."""
    out: list[tuple[int, list[str]]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        fields = next(csv.reader(io.StringIO(line), delimiter=";"), [])
        fields = [field.strip() for field in fields]
        if any(fields):
            out.append((number, fields))
    return out


def _integer(source: str, line: int, column: str, text: str, low: int = 0, high: int = MAX_INSTANCE) -> int:
    try:
        value = int(text)
    except ValueError:
        raise EdeError(source, line, f"{column} must be a whole number, got {text!r}") from None
    if not low <= value <= high:
        raise EdeError(source, line, f"{column} {value} is outside {low}..{high}")
    return value


def parse_state_texts(text: str, source: str) -> dict[int, tuple[str, ...]]:
    """Reference number -> the texts of states 1..n (a binary object's inactive and active text)."""
    table: dict[int, tuple[str, ...]] = {}
    for line, fields in _rows(text):
        reference = _integer(source, line, "the state-text reference number", fields[0])
        texts = tuple(field for field in fields[1:] if field)
        if not texts:
            raise EdeError(source, line, f"state-text reference {reference} has no texts")
        if reference in table:
            raise EdeError(source, line, f"state-text reference {reference} is defined twice")
        table[reference] = texts
    return table


def parse_unit_texts(text: str, source: str) -> dict[int, str]:
    """Unit code -> its text, for codes the standard does not name (proprietary units)."""
    table: dict[int, str] = {}
    for line, fields in _rows(text):
        if len(fields) < 2 or not fields[1]:
            raise EdeError(source, line, "a unit line needs code;unit text")
        table[_integer(source, line, "the unit code", fields[0], 0, 65_535)] = fields[1]
    return table


def parse_ede(
    text: str,
    source: str,
    state_texts: dict[int, tuple[str, ...]] | None = None,
    unit_texts: dict[int, str] | None = None,
) -> EdeProject:
    """The project an EDE main file describes; EdeError on the first malformed line."""
    header: dict[str, str] = {}
    objects: dict[int, list[DiscoveredObject]] = {}
    device_names: dict[int, tuple[str, str]] = {}  # instance -> (object-name, description) of its device object
    seen: dict[tuple[int, str, int], int] = {}
    for line, fields in _rows(text):
        key = fields[0].upper()
        if key in ("PROJECT_NAME", "VERSION_OF_REFERENCEFILE", "TIMESTAMP_OF_LAST_CHANGE", "AUTHOR_OF_LAST_CHANGE",
                   "VERSION_OF_LAYOUT"):  # fmt: skip
            header[key] = fields[1] if len(fields) > 1 else ""
            continue
        if fields[0].lower() == MANDATORY[0]:
            continue  # a column heading written without the leading '#'
        if len(fields) < len(MANDATORY):
            raise EdeError(
                source, line, f"expected at least {len(MANDATORY)} fields ({';'.join(MANDATORY)}), got {len(fields)}"
            )
        device = _integer(source, line, "device obj.-instance", fields[1])
        type_number = _integer(source, line, "object-type", fields[3], 0, 1023)
        instance = _integer(source, line, "object-instance", fields[4])
        object_type = OBJECT_TYPE_NAMES.get(type_number)
        if object_type is None:
            if type_number not in PROPRIETARY_OBJECT_TYPES:
                raise EdeError(source, line, f"object-type {type_number} is not a BACnet object type")
            object_type = f"proprietary-{type_number}"
        identity = (device, object_type, instance)
        if identity in seen:
            twice = f"{object_type}:{instance} of device {device} is also on line {seen[identity]}"
            raise EdeError(source, line, twice)
        seen[identity] = line
        name = fields[2]
        description = fields[DESCRIPTION] if len(fields) > DESCRIPTION else ""
        if type_number == DEVICE_TYPE:
            device_names[device] = (name, description)
            objects.setdefault(device, [])
            continue
        units = _units(source, line, fields, unit_texts or {})
        states = _states(source, line, fields, state_texts)
        objects.setdefault(device, []).append(
            DiscoveredObject(object_type, instance, name, units, None, description, states)
        )
    if not objects:
        raise EdeError(source, None, "no object lines: is this an EDE file (keyname;device obj.-instance;...)?")
    devices = tuple(
        DiscoveredDevice(instance, None, device_names.get(instance, ("", ""))[0], objects=tuple(found))
        for instance, found in objects.items()
    )
    return EdeProject(header.get("PROJECT_NAME", ""), header.get("VERSION_OF_LAYOUT", ""), devices)


def _units(source: str, line: int, fields: list[str], unit_texts: dict[int, str]) -> str | None:
    text = fields[UNIT_CODE] if len(fields) > UNIT_CODE else ""
    if not text:
        return None
    code = _integer(source, line, "unit-code", text, 0, 65_535)
    name = ENGINEERING_UNITS.get(code) or unit_texts.get(code)
    if name is None:
        raise EdeError(source, line, f"unit-code {code} is not a BACnet engineering unit (and no units file names it)")
    return name


def _states(
    source: str, line: int, fields: list[str], state_texts: dict[int, tuple[str, ...]] | None
) -> tuple[str, ...]:
    text = fields[STATE_TEXT_REFERENCE] if len(fields) > STATE_TEXT_REFERENCE else ""
    if not text:
        return ()
    reference = _integer(source, line, "state-text-reference", text)
    if state_texts is None:
        return ()  # no state-text file given: the fragment asks the user to name the states
    found = state_texts.get(reference)
    if found is None:
        raise EdeError(source, line, f"state-text-reference {reference} is not in the state-text file")
    return found


def companion(path: Path, suffix: str) -> Path | None:
    """``X_StateTexts.csv`` or ``X_Units.csv`` beside ``X_EDE.csv``, if it exists."""
    stem = path.stem
    for marker in ("_EDE", "_ede", "-EDE", "-ede"):
        if stem.endswith(marker):
            candidate = path.with_name(f"{stem[: -len(marker)]}{marker[0]}{suffix}{path.suffix}")
            return candidate if candidate.is_file() else None
    return None


def load_ede(
    path: Path,
    *,
    state_texts: Path | None = None,
    units: Path | None = None,
    encoding: str | None = None,
) -> EdeProject:
    """Read an EDE main file and its companions (given, or found beside it by the naming convention)."""
    state_path = state_texts or companion(path, "StateTexts")
    units_path = units or companion(path, "Units")
    states = parse_state_texts(read_text(state_path, encoding), str(state_path)) if state_path else None
    unit_table = parse_unit_texts(read_text(units_path, encoding), str(units_path)) if units_path else None
    return parse_ede(read_text(path, encoding), str(path), states, unit_table)

"""bacpypes3 local object classes for the BACnet simulator: one per supported object type, with COV detection.

bacpypes3 ships local (serving) classes only for analog, binary and multi-state objects, and some of those
cannot report COV (its commandable binary-value has no property monitors; its multi-state COV filter needs a
cov-increment these objects lack). The classes here combine bacpypes3's Commandable and local Object with the
standard object definitions, so access doors, life-safety points/zones and character-string values are
served too.
"""

from __future__ import annotations

from typing import Any

from bacpypes3 import object as standard
from bacpypes3.errors import PropertyError
from bacpypes3.local.cmd import Commandable
from bacpypes3.local.cov import AccessDoorCriteria, COVIncrementCriteria, GenericCriteria
from bacpypes3.local.object import Object as LocalObject

_NORMAL_FLAGS = [0, 0, 0, 0]


class _ReadOnlyPresentValue:
    """Inputs and life-safety objects: present-value is measured by the device, not written by clients."""

    async def write_property(self, attr: Any, value: Any, index: Any = None, priority: Any = None) -> None:
        name = attr if isinstance(attr, str) else str(attr)
        if name in ("presentValue", "present-value"):
            raise PropertyError("writeAccessDenied")
        await super().write_property(attr, value, index, priority)  # type: ignore[misc]


class AnalogInput(_ReadOnlyPresentValue, LocalObject, standard.AnalogInputObject):
    _cov_criteria = COVIncrementCriteria


class AnalogOutput(Commandable, LocalObject, standard.AnalogOutputObject):
    _cov_criteria = COVIncrementCriteria


class AnalogValue(Commandable, LocalObject, standard.AnalogValueObject):
    _cov_criteria = COVIncrementCriteria


class BinaryInput(_ReadOnlyPresentValue, LocalObject, standard.BinaryInputObject):
    _cov_criteria = GenericCriteria


class BinaryOutput(Commandable, LocalObject, standard.BinaryOutputObject):
    _cov_criteria = GenericCriteria


class BinaryValue(Commandable, LocalObject, standard.BinaryValueObject):
    _cov_criteria = GenericCriteria


class MultiStateInput(_ReadOnlyPresentValue, LocalObject, standard.MultiStateInputObject):
    _cov_criteria = GenericCriteria


class MultiStateOutput(Commandable, LocalObject, standard.MultiStateOutputObject):
    _cov_criteria = GenericCriteria


class MultiStateValue(Commandable, LocalObject, standard.MultiStateValueObject):
    _cov_criteria = GenericCriteria


class AccessDoor(Commandable, LocalObject, standard.AccessDoorObject):
    _cov_criteria = AccessDoorCriteria


class LifeSafetyPoint(_ReadOnlyPresentValue, LocalObject, standard.LifeSafetyPointObject):
    _cov_criteria = GenericCriteria


class LifeSafetyZone(_ReadOnlyPresentValue, LocalObject, standard.LifeSafetyZoneObject):
    _cov_criteria = GenericCriteria


class CharacterStringValue(LocalObject, standard.CharacterStringValueObject):
    _cov_criteria = GenericCriteria


OBJECT_CLASSES: dict[str, type] = {
    "analog-input": AnalogInput,
    "analog-output": AnalogOutput,
    "analog-value": AnalogValue,
    "binary-input": BinaryInput,
    "binary-output": BinaryOutput,
    "binary-value": BinaryValue,
    "multi-state-input": MultiStateInput,
    "multi-state-output": MultiStateOutput,
    "multi-state-value": MultiStateValue,
    "access-door": AccessDoor,
    "life-safety-point": LifeSafetyPoint,
    "life-safety-zone": LifeSafetyZone,
    "characterstring-value": CharacterStringValue,
}


def initial_properties(object_type: str, number_of_states: int) -> dict[str, Any]:
    """Required properties besides identifier, name and values, with normal (no alarm, no fault) settings."""
    properties: dict[str, Any] = {"statusFlags": _NORMAL_FLAGS}
    if object_type != "characterstring-value":
        properties.update(eventState="normal", outOfService=False)
    if object_type.startswith("analog"):
        properties.update(units="noUnits", covIncrement=0.0)  # report every change, as a test peer should
    if object_type.startswith("multi-state"):
        properties["numberOfStates"] = max(number_of_states, 1)
    if object_type == "access-door":
        properties.update(
            reliability="noFaultDetected",
            doorStatus="closed",
            doorAlarmState="normal",
            doorPulseTime=30,
            doorExtendedPulseTime=300,
            doorOpenTooLongTime=60,
        )
    if object_type.startswith("life-safety"):
        properties.update(
            reliability="noFaultDetected",
            trackingValue="quiet",
            mode="on",
            acceptedModes=["on", "off"],
            silenced="unsilenced",
            operationExpected="none",
        )
    return properties

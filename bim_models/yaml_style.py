"""YAML output of generated site files: block style for the structure, flow style for short leaves."""

from __future__ import annotations

from typing import Any

import yaml


class Flow(dict[str, Any]):
    """A mapping written on one line, e.g. ``name: {zh: 电压, en: Voltage}``."""


class FlowList(list[Any]):
    """A list written on one line, e.g. ``states: [low, medium, high]``."""


def names(zh: str, en: str) -> Flow:
    return Flow(zh=zh, en=en)


class _Dumper(yaml.SafeDumper):
    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        # Indent list items under their key, the way most hand-written YAML looks.
        super().increase_indent(flow, False)


def _flow_mapping(dumper: yaml.SafeDumper, data: Flow) -> yaml.Node:
    return dumper.represent_mapping("tag:yaml.org,2002:map", data.items(), flow_style=True)


def _flow_list(dumper: yaml.SafeDumper, data: FlowList) -> yaml.Node:
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=True)


_Dumper.add_representer(Flow, _flow_mapping)
_Dumper.add_representer(FlowList, _flow_list)


def dump(data: dict[str, Any]) -> str:
    """Deterministic text: keys in insertion order, Unicode kept readable."""
    text: str = yaml.dump(
        data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=120, default_flow_style=False
    )
    return text

"""Parse YAML keeping each node's line, so that errors can point at the place in the file; reject duplicate keys."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import yaml


@dataclass(frozen=True)
class YamlProblem:
    line: int | None
    path: tuple[str | int, ...]
    message: str


class PositionedYaml:
    """The document as plain Python data plus the node tree to look up line numbers by path."""

    def __init__(self, text: str) -> None:
        self.problems: list[YamlProblem] = []
        try:
            self.root: yaml.Node | None = yaml.compose(text, Loader=yaml.SafeLoader)
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line = mark.line + 1 if mark else None
            self.problems.append(YamlProblem(line, (), f"YAML syntax: {exc.problem or exc}"))
            self.root = None
            self.data: Any = None
            return
        except yaml.YAMLError as exc:
            self.problems.append(YamlProblem(None, (), f"YAML: {exc}"))
            self.root = None
            self.data = None
            return
        self._check_duplicates(self.root, ())
        # Constructing from the already composed tree keeps one parse of the text.
        self.data = yaml.SafeLoader("").construct_document(self.root) if self.root is not None else None

    def _check_duplicates(self, node: yaml.Node | None, path: tuple[str | int, ...]) -> None:
        if isinstance(node, yaml.MappingNode):
            seen: dict[str, int] = {}
            for key_node, value_node in node.value:
                key = str(key_node.value)
                if key in seen:
                    self.problems.append(
                        YamlProblem(
                            key_node.start_mark.line + 1,
                            (*path, key),
                            f"duplicate key {key!r} (first on line {seen[key]})",
                        )
                    )
                else:
                    seen[key] = key_node.start_mark.line + 1
                self._check_duplicates(value_node, (*path, key))
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                self._check_duplicates(item, (*path, index))

    def line_of(self, path: Sequence[str | int]) -> int | None:
        """The line of the deepest node that ``path`` reaches; parts that are not in the file are skipped
        (pydantic adds union tags such as ``modbus_tcp`` to its paths)."""
        node = self.root
        if node is None:
            return None
        line = node.start_mark.line + 1
        for part in path:
            if isinstance(node, yaml.MappingNode):
                for key_node, value_node in node.value:
                    if str(key_node.value) == str(part):
                        node = value_node
                        line = key_node.start_mark.line + 1
                        break
            elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
                node = node.value[part]
                line = node.start_mark.line + 1
        return line

"""docs/standards.md names the tests that show each clause: every one of them must exist."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STANDARDS = ROOT / "docs" / "standards.md"


def _test_names(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {node.name for node in ast.walk(tree) if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)}


def test_every_test_named_in_the_standards_map_exists() -> None:
    references = re.findall(r"`(tests/[^`]+)`", STANDARDS.read_text(encoding="utf-8"))
    assert len(references) > 20, "the standards map names too few tests: was it emptied?"
    missing = []
    for reference in references:
        file_part, _, test = reference.partition("::")
        path = ROOT / file_part
        if not path.is_file():
            missing.append(f"{reference}: no such file")
        elif test and test not in _test_names(path):
            missing.append(f"{reference}: no such test")
    assert not missing, "docs/standards.md names tests that do not exist:\n" + "\n".join(missing)

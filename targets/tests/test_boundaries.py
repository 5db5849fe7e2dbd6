"""The house's two towers: targets/ is the domain and never reaches into the
presentation (reports/) or the project package (khoenon/)."""

import ast
from pathlib import Path

TARGETS = Path(__file__).resolve().parent.parent


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):  # functions' own imports too
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


def test_no_module_of_targets_imports_reports_or_khoenon():
    modules = [
        p for p in TARGETS.rglob("*.py") if "tests" not in p.relative_to(TARGETS).parts
    ]
    assert len(modules) > 20
    crossing = {
        str(path.relative_to(TARGETS)): sorted(
            name
            for name in imported_modules(path)
            if name.split(".")[0] in ("reports", "khoenon")
        )
        for path in modules
    }
    assert {k: v for k, v in crossing.items() if v} == {}

"""The house's two towers: targets/ is the domain and never reaches into the
presentation (reports/) or the project package (khoenon/)."""

import ast
from pathlib import Path

TARGETS = Path(__file__).resolve().parent.parent
FORBIDDEN = ("reports", "khoenon")


def package_of(path: Path) -> list[str]:
    """The dotted package a module of targets/ sits in: ["targets", "models"]."""
    return ["targets", *path.relative_to(TARGETS).parent.parts]


def imported_modules(path: Path, package: list[str] | None = None) -> set[str]:
    """Every module the file imports, relative imports made absolute, including the
    imports inside functions."""
    package = package if package is not None else package_of(path)
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            names.add(module)
            if not node.module:  # from .. import reports
                names.update(".".join([*base, alias.name]) for alias in node.names)
    return names


def domain_modules() -> list[Path]:
    return [
        p for p in TARGETS.rglob("*.py") if "tests" not in p.relative_to(TARGETS).parts
    ]


def test_the_walk_reaches_every_module_and_subpackage_of_targets():
    walked = {str(p.relative_to(TARGETS)) for p in domain_modules()}
    assert len(walked) > 40
    for module in (
        "models/__init__.py",
        "models/workflow.py",
        "progress.py",
        "progress_load.py",
        "management/commands/backup.py",
        "templatetags/vn.py",
        "migrations/0001_initial.py",
    ):
        assert module in walked, module


def test_relative_imports_are_read_as_the_modules_they_name(tmp_path):
    module = tmp_path / "m.py"
    module.write_text(
        "from .numbers import round_to\n"
        "from ..reports import views\n"
        "from .. import khoenon\n"
        "def late():\n"
        "    import reports.exports\n",
        encoding="utf-8",
    )
    names = imported_modules(module, ["targets", "models"])
    assert "targets.models.numbers" in names
    assert "targets.reports" in names
    assert "targets.khoenon" in names
    assert "reports.exports" in names
    top = imported_modules(module, ["targets"])
    assert {"reports", "khoenon", "targets.numbers"} <= top


def test_no_module_of_targets_imports_reports_or_khoenon():
    crossing = {
        str(path.relative_to(TARGETS)): sorted(
            name for name in imported_modules(path) if name.split(".")[0] in FORBIDDEN
        )
        for path in domain_modules()
    }
    assert {k: v for k, v in crossing.items() if v} == {}

"""docs/configuration.md against the settings: every environment variable the settings read
has a row, and every row names a variable something in the project reads."""

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "configuration.md"
NAME = re.compile(r"`([A-Z][A-Z0-9_]+)`")


def settings_variables() -> set[str]:
    """Names passed to `env(...)` or `env.<cast>(...)` in saas/settings/*.py."""
    names = set()
    for path in (ROOT / "saas" / "settings").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if not (isinstance(node, ast.Call) and node.args):
                continue
            function = node.func
            by_env = (isinstance(function, ast.Name) and function.id == "env") or (
                isinstance(function, ast.Attribute)
                and isinstance(function.value, ast.Name)
                and function.value.id == "env"
            )
            first = node.args[0]
            if by_env and isinstance(first, ast.Constant) and isinstance(first.value, str):
                names.add(first.value)
    return names


def documented_variables() -> set[str]:
    """Names in the first cell of the table's rows."""
    names = set()
    for line in DOC.read_text().splitlines():
        if line.startswith("| `"):
            names.update(NAME.findall(line.split("|")[1]))
    return names


def project_source() -> str:
    paths = [*ROOT.glob("*/**/*.py"), *ROOT.glob("infra/**/*"), ROOT / "Makefile"]
    return "\n".join(
        path.read_text(errors="replace")
        for path in paths
        if path.is_file() and ".venv" not in path.parts and "tests" not in path.parts
    )


def test_every_variable_the_settings_read_is_documented() -> None:
    missing = settings_variables() - documented_variables()
    assert not missing, f"add these to docs/configuration.md: {sorted(missing)}"


def test_every_documented_variable_is_read_by_the_project() -> None:
    source = project_source()
    stale = {name for name in documented_variables() if name not in source}
    assert not stale, f"docs/configuration.md names variables nothing reads: {sorted(stale)}"

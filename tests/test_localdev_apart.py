"""The product packages hold what production runs: none of them imports the local
stand-ins (localdev), which may import product code but never the other way round."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PRODUCT_PACKAGES = ["saas", "accounts", "tenants", "billing", "members", "workspaces", "assistant"]


def imported_modules(path: Path) -> set[str]:
    modules = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            modules |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            modules.add(node.module)
    return modules


def test_no_product_package_imports_localdev():
    importers = [
        str(path.relative_to(ROOT))
        for package in PRODUCT_PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
        if any(module.split(".")[0] == "localdev" for module in imported_modules(path))
    ]

    assert importers == []


def test_the_product_packages_exist():
    assert all((ROOT / package / "__init__.py").exists() for package in PRODUCT_PACKAGES)

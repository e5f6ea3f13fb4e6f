"""The shared floor (``gateway/``) never imports a domain app; the apps plug into it instead."""

import ast
from collections import defaultdict
from pathlib import Path

from django.conf import settings

DOMAIN_APPS = ("users", "media", "campaigns", "knowledge")
PACKAGES = ("gateway", *DOMAIN_APPS)


def imported_modules(path: Path) -> set[str]:
    """Every absolute module ``path`` imports, at module level or inside functions."""
    modules = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules.add(node.module)
    return modules


def floor_modules() -> list[Path]:
    root = settings.BASE_DIR / "gateway"
    return [path for path in root.rglob("*.py") if "tests" not in path.relative_to(root).parts]


def import_graph() -> dict[str, set[str]]:
    """Which package imports which, tests and migrations left out."""
    graph = defaultdict(set)
    for package in PACKAGES:
        for path in (settings.BASE_DIR / package).rglob("*.py"):
            if {"tests", "migrations"} & set(path.relative_to(settings.BASE_DIR).parts):
                continue
            for module in imported_modules(path):
                top = module.split(".")[0]
                if top in PACKAGES and top != package:
                    graph[package].add(top)
    return graph


def test_no_floor_module_imports_a_domain_app():
    offenders = sorted(
        f"{path.relative_to(settings.BASE_DIR)} imports {module}"
        for path in floor_modules()
        for module in imported_modules(path)
        if module.split(".")[0] in DOMAIN_APPS
    )
    assert offenders == []


def test_the_import_check_sees_every_form_of_import(tmp_path):
    module = tmp_path / "example.py"
    module.write_text("import users\nfrom media.models import Asset\n\ndef f():\n    from campaigns import services\n")
    assert imported_modules(module) == {"users", "media.models", "campaigns"}


def test_the_import_graph_has_the_floor_at_the_bottom():
    graph = import_graph()
    print("\n".join(f"{package} -> {', '.join(sorted(graph[package])) or '-'}" for package in PACKAGES))
    assert graph["gateway"] == set()
    assert all("gateway" in graph[app] for app in DOMAIN_APPS)

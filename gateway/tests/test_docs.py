"""The newcomer's checklist (docs/ADDING_A_MODEL.md) names only files and folders that exist."""

import importlib
import re
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(settings.BASE_DIR)
CHECKLIST = ROOT / "docs" / "ADDING_A_MODEL.md"
DOMAIN_APPS = ("users", "media", "campaigns", "knowledge")
# A path in backticks: has a folder or a known file ending; ``<app>`` stands for a domain app.
PATH = re.compile(r"`((?:<app>|[a-z_]+)/[\w./<>-]*|[\w-]+\.(?:py|md|json))`")


def named_paths() -> list[str]:
    return sorted(set(PATH.findall(CHECKLIST.read_text())))


def test_the_checklist_names_paths():
    assert len(named_paths()) >= 25


@pytest.mark.parametrize("path", named_paths())
def test_every_path_the_checklist_names_exists(path):
    if path.startswith("<app>/"):
        # At least one domain app has it (not every app has every optional file, e.g. choices.py).
        assert any((ROOT / path.replace("<app>", app)).exists() for app in DOMAIN_APPS), path
    elif "/" in path:
        assert (ROOT / path).exists(), path
    else:
        assert any(ROOT.glob(f"**/{path}")), path


DOTTED = re.compile(r"`(gateway(?:\.\w+)+)`")


@pytest.mark.parametrize("name", sorted(set(DOTTED.findall(CHECKLIST.read_text()))))
def test_every_dotted_name_the_checklist_names_imports(name):
    """A module, or an attribute of one (importing a missing module raises, and so fails)."""
    module_name, _, attribute = name.rpartition(".")
    try:
        importlib.import_module(name)
    except ModuleNotFoundError:
        assert hasattr(importlib.import_module(module_name), attribute), name

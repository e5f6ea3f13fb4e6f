"""No project code patches a library: nothing assigns to an attribute of a class or module it imported.

Every project module outside ``migrations/`` is read with ``ast``. A name is foreign when the module imports
it from outside the project (Django, DRF, any other library, the standard library), or binds it to foreign
things (``RULES = {fields.CharField: ...}``, ``for cls, _ in RULES.items()``). Assigning to an attribute of a
foreign class or module (``fields.CharField.to_internal_value = ...``, ``setattr(serializers.Field, "x", ...)``,
``+=``, ``del``) is a patch that changes the library for the whole process. An instance's attributes are its own:
one made by a call (``field = CharField(); field.label = ...``), one a dotted import leads to (``admin.site``,
looked up to tell), ``self.x``, parameters. pytest's ``monkeypatch`` fixture (undone after each test) is not an
assignment here.
"""

import ast
import importlib
import types
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SKIPPED_DIRECTORIES = {"migrations", "node_modules", "__pycache__"}


def project_packages(root: Path) -> set[str]:
    """Top-level names importable from the project: its packages and root-level modules."""
    names = {path.stem for path in root.glob("*.py")}
    names |= {path.name for path in root.iterdir() if path.is_dir() and any(path.glob("**/*.py"))}
    return {name for name in names if not name.startswith(".")}


def project_modules(root: Path) -> list[Path]:
    modules = []
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root).parts
        if any(part.startswith(".") or part in SKIPPED_DIRECTORIES for part in parts[:-1]):
            continue
        modules.append(path)
    return modules


def _root_name(node: ast.expr) -> str | None:
    """``a`` for ``a``, ``a.b``, ``a.b.c``; None when a call, a subscript or anything else is on the way."""
    while isinstance(node, ast.Attribute):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def _bound_names(target: ast.expr) -> list[str]:
    """The plain names an assignment or a loop binds (``a``, ``a, (b, *c)``), not attributes or items."""
    if isinstance(target, ast.Name):
        return [target.id]
    if isinstance(target, ast.Starred):
        return _bound_names(target.value)
    if isinstance(target, ast.Tuple | ast.List):
        return [name for element in target.elts for name in _bound_names(element)]
    return []


def _resolve(origin: str, path: list[str]):
    """The object ``origin`` (an imported dotted name) then ``path`` lead to; raises when it cannot be found."""
    try:
        value = importlib.import_module(origin)
    except ImportError:
        module, _, name = origin.rpartition(".")
        value = getattr(importlib.import_module(module), name)
    for name in path:
        value = getattr(value, name)
    return value


class _Patches(ast.NodeVisitor):
    """Collects ``(line, text)`` for every assignment to an attribute of a foreign class or module."""

    CONTAINER_METHODS = {"items", "keys", "values", "copy"}

    def __init__(self, project: set[str]):
        self.project = project
        self.imported: dict[str, str] = {}  # name -> the dotted name it was imported as
        self.foreign: set[str] = set()
        self.bound: set[str] = set()  # names bound to foreign things by an assignment or a loop
        self.found: list[tuple[int, str]] = []

    def scan(self, tree: ast.Module) -> list[tuple[int, str]]:
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.partition(".")[0] not in self.project:
                        name = alias.asname or alias.name.partition(".")[0]
                        self.imported[name] = alias.name if alias.asname else name
            elif (
                isinstance(node, ast.ImportFrom)
                and node.level == 0
                and node.module.partition(".")[0] not in self.project
            ):
                for alias in node.names:
                    self.imported[alias.asname or alias.name] = f"{node.module}.{alias.name}"
        self.foreign = set(self.imported)
        # Names bound to foreign things, until nothing new is learnt (a binding may come before its source).
        bindings = [
            node
            for node in ast.walk(tree)
            if isinstance(node, ast.Assign | ast.AnnAssign | ast.For | ast.comprehension)
        ]
        while True:
            known = len(self.foreign)
            for node in bindings:
                source = node.iter if isinstance(node, ast.For | ast.comprehension) else node.value
                if source is not None and self.refers_to_foreign(source):
                    for target in node.targets if isinstance(node, ast.Assign) else [node.target]:
                        self.bound.update(_bound_names(target))
                        self.foreign.update(_bound_names(target))
            if len(self.foreign) == known:
                break
        self.visit(tree)
        return self.found

    def refers_to_foreign(self, node: ast.expr) -> bool:
        """Whether ``node`` is a foreign name (or an attribute of one), or a container or view holding some."""
        if isinstance(node, ast.Name | ast.Attribute):
            return _root_name(node) in self.foreign
        if isinstance(node, ast.Tuple | ast.List | ast.Set):
            return any(self.refers_to_foreign(element) for element in node.elts)
        if isinstance(node, ast.Dict):
            return any(self.refers_to_foreign(item) for item in [*node.keys, *node.values] if item is not None)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            return node.func.attr in self.CONTAINER_METHODS and self.refers_to_foreign(node.func.value)
        return False

    def is_patched(self, owner: ast.expr) -> bool:
        """Whether an attribute of ``owner`` (a foreign expression) belongs to a class or a module.

        A dotted name from an import is looked up (``admin.site`` is an instance: setting its titles is how
        Django says to); a name bound to foreign things some other way (a loop over classes) counts as a class.
        """
        parts = []
        node = owner
        while isinstance(node, ast.Attribute):
            parts.insert(0, node.attr)
            node = node.value
        if node.id not in self.imported or node.id in self.bound:
            return True
        try:
            value = _resolve(self.imported[node.id], parts)
        except Exception:
            return True
        return isinstance(value, type | types.ModuleType)

    def check_target(self, target: ast.expr) -> None:
        if isinstance(target, ast.Tuple | ast.List):
            for element in target.elts:
                self.check_target(element)
        elif (
            isinstance(target, ast.Attribute)
            and _root_name(target.value) in self.foreign
            and self.is_patched(target.value)
        ):
            self.found.append((target.lineno, ast.unparse(target)))

    def visit_FunctionDef(self, node):
        # A parameter (a pytest fixture named ``settings``, a ``request``) is the function's own.
        arguments = node.args
        parameters = {
            argument.arg
            for argument in [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]
            + [argument for argument in (arguments.vararg, arguments.kwarg) if argument is not None]
        }
        foreign = self.foreign
        self.foreign = foreign - parameters
        self.generic_visit(node)
        self.foreign = foreign

    visit_AsyncFunctionDef = visit_FunctionDef
    visit_Lambda = visit_FunctionDef

    def visit_Assign(self, node):
        for target in node.targets:
            self.check_target(target)
        self.generic_visit(node)

    def visit_AugAssign(self, node):
        self.check_target(node.target)
        self.generic_visit(node)

    def visit_AnnAssign(self, node):
        self.check_target(node.target)
        self.generic_visit(node)

    def visit_Delete(self, node):
        for target in node.targets:
            self.check_target(target)
        self.generic_visit(node)

    def visit_Call(self, node):
        if (
            isinstance(node.func, ast.Name)
            and node.func.id in ("setattr", "delattr")
            and len(node.args) >= 2
            and isinstance(node.args[1], ast.Constant)
            and isinstance(node.args[1].value, str)
            and isinstance(node.args[0], ast.Name | ast.Attribute)
            and self.refers_to_foreign(node.args[0])
            and self.is_patched(node.args[0])
        ):
            self.found.append((node.lineno, ast.unparse(node)))
        self.generic_visit(node)


def patches(source: str, project: set[str]) -> list[tuple[int, str]]:
    return _Patches(project).scan(ast.parse(source))


PROJECT = project_packages(ROOT)


def test_the_scan_sees_the_project():
    assert {"gateway", "users", "media", "campaigns", "knowledge", "conftest", "manage"} <= PROJECT
    assert len(project_modules(ROOT)) > 100


def test_no_module_assigns_to_an_attribute_of_a_library():
    found = {}
    for path in project_modules(ROOT):
        found_here = patches(path.read_text(), PROJECT)
        if found_here:
            found[str(path.relative_to(ROOT))] = found_here
    assert found == {}


@pytest.mark.parametrize(
    "source",
    [
        "from rest_framework import fields\nfields.CharField.to_internal_value = lambda self, data: data",
        "import rest_framework.fields\nrest_framework.fields.CharField.to_internal_value = None",
        "from django.db.models import QuerySet as Q\nQ.alive += ()",
        "from rest_framework import fields\nsetattr(fields.FloatField, 'to_internal_value', None)",
        "from django.contrib import admin\ndel admin.ModelAdmin.list_per_page",
        "from django.db import models\nMODEL = models.Model\nMODEL.save = None",
        # gateway/api/strict.py before the strict field classes (its install(), shortened).
        "from rest_framework import fields\n"
        "RULES = {fields.CharField: str, fields.UUIDField: str}\n"
        "def install():\n"
        "    for field_class, accepts in RULES.items():\n"
        "        field_class.to_internal_value = wrap(field_class.to_internal_value, accepts)\n",
        "from rest_framework import fields\n"
        "def install():\n"
        "    for field_class in [fields.CharField, fields.IntegerField]:\n"
        "        setattr(field_class, 'to_internal_value', None)\n",
    ],
)
def test_a_patch_is_found(source):
    assert patches(source, PROJECT)


@pytest.mark.parametrize(
    "source",
    [
        "from rest_framework import fields\nfield = fields.CharField()\nfield.label = 'Name'",
        "class A:\n    def __init__(self):\n        self.x = 1",
        "def view(request):\n    request.user = None",
        "from gateway.api import representation\nrepresentation.FastRepresentationMixin.x = None",
        "from django.conf import settings\nvalue = settings.DEBUG",
        "import os\nos.environ['X'] = '1'",
        "from django.contrib import admin\nadmin.site.site_header = 'Console'",
        "def test(monkeypatch):\n    from django.conf import settings\n    monkeypatch.setattr(settings, 'X', 1)",
    ],
)
def test_an_instance_or_project_attribute_is_not_a_patch(source):
    assert patches(source, PROJECT) == []

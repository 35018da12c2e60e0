"""Registries: one table per kind of thing, filled where each thing is defined, read by the CLI and the tables."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

from malade_export.errors import MaladeError
from malade_export.registry import Registry

PACKAGE = Path(__file__).resolve().parents[1] / "malade_export"


def test_registry_registers_gets_and_lists_in_order():
    reg: Registry[int] = Registry("thing")
    reg.register("b")(2)
    reg.register("a")(1)
    assert reg.names() == ("b", "a") and reg.get("a") == 1 and "b" in reg and len(reg) == 2


def test_registry_refuses_unknown_names_in_one_line_listing_the_choices():
    reg: Registry[int] = Registry("thing")
    reg.register("one")(1)
    with pytest.raises(MaladeError, match=r"^unknown thing 'two'; choose one of one$"):
        reg.get("two")


def test_registry_refuses_a_name_twice():
    reg: Registry[int] = Registry("thing")
    reg.register("one")(1)
    with pytest.raises(MaladeError, match="registered twice"):
        reg.register("one")(2)


def test_each_kind_is_registered_where_it_is_defined():
    from malade_export.attacks import ATTACKS
    from malade_export.bench.backends import BACKENDS
    from malade_export.chain import PRESETS
    from malade_export.defenses import DEFENSES
    from malade_export.models import CLASSIFIERS, DENOISERS
    from malade_export.runtime import RUNTIMES

    assert DEFENSES.names() == ("none", "magnet", "mala", "malade", "defensegan")  # the tables' column order
    assert ATTACKS.names() == ("fgsm", "rfgsm", "pgd", "cw", "blackbox", "apgd-ce", "apgd-dlr", "autoattack-rand")
    assert CLASSIFIERS.names() == ("A", "B", "C", "D", "E", "airbench-small", "substitute-cnn")
    assert set(DENOISERS.names()) == {"dae", "sdae"}
    assert RUNTIMES.names()[:3] == ("ort", "openvino-f32", "openvino-bf16") and "tensorrt" in RUNTIMES
    assert "ort-cpu" in BACKENDS and BACKENDS.get("openvino-cpu-bf16").precision == "bf16"
    assert "fashion-mnist" in PRESETS and PRESETS.get("fashion-mnist").sdae.is_file()


def test_published_runtime_names_stay_as_aliases():
    from malade_export import Session
    from malade_export.runtime import OrtSession, TensorRTSession, TrtRunner
    from malade_export.runtime.base import DefenseSession

    assert Session is OrtSession and TrtRunner is TensorRTSession
    assert issubclass(OrtSession, DefenseSession) and issubclass(TensorRTSession, DefenseSession)


def _imports(path: Path) -> list[str]:
    """Absolute names of the malade_export modules ``path`` imports (relative imports resolved)."""
    module = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    names = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = package.split(".")[: len(package.split(".")) - node.level + 1] if node.level else []
            names.append(".".join([*base, *([node.module] if node.module else [])]))
        elif isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
    return [name for name in names if name.startswith("malade_export")]


def test_no_library_module_imports_the_cli():
    def imports_cli(path: Path) -> bool:
        return any(name == "malade_export.cli" or name.startswith("malade_export.cli.") for name in _imports(path))

    offenders = [str(path.relative_to(PACKAGE)) for path in PACKAGE.rglob("*.py")
                 if "cli" not in path.relative_to(PACKAGE).parts and imports_cli(path)]
    assert offenders == []

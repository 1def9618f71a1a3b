"""The package surface: cheap import, explicit exports, one exception tree."""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys

import pytest

import kgsentinel
from kgsentinel import errors

HEAVY = ("pyoxigraph", "pandas", "typer", "rich", "httpx", "pydantic", "rdflib")


def test_import_kgsentinel_loads_nothing_heavy() -> None:
    code = f"import sys, kgsentinel; print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert loaded.stdout.strip() == ""


def test_lazy_names_resolve_and_unknown_names_fail() -> None:
    assert callable(kgsentinel.open_store)
    assert callable(kgsentinel.open_workspace)
    with pytest.raises(AttributeError):
        kgsentinel.no_such_thing  # noqa: B018


def modules() -> list[str]:
    return [
        info.name
        for info in pkgutil.walk_packages(kgsentinel.__path__, "kgsentinel.")
        if not info.name.endswith("__main__")
    ]


@pytest.mark.parametrize("name", modules())
def test_every_module_declares_what_it_exports(name: str) -> None:
    module = importlib.import_module(name)
    assert hasattr(module, "__all__"), f"{name} has no __all__"
    for symbol in module.__all__:
        assert hasattr(module, symbol), f"{name}.__all__ names {symbol}, which is missing"


def test_every_error_belongs_to_the_one_tree() -> None:
    for name in errors.__all__:
        error = getattr(errors, name)
        assert issubclass(error, errors.KgsentinelError)
        assert error.__doc__
        assert name in errors.__doc__

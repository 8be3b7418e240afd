"""The layout's import rules hold: each package imports only what the README's Architecture allows.

Scans every module's imports with `ast` (including imports inside functions), so a lazy import
cannot slip past; the serving path is checked in a fresh interpreter, as a process starts.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# package → top-level names its modules must not import
FORBIDDEN = {
    "providers": {"gateway", "resolvers", "store", "emulators", "strawberry", "redis"},
    "resolvers": {"gateway", "emulators", "strawberry", "redis"},
    "emulators": {"gateway", "resolvers", "store", "redis"},
    "store": {"gateway", "resolvers", "emulators", "strawberry"},
    "gateway": {"redis"},
}


def imported(source: Path) -> set[str]:
    """Every module name `source` imports, anywhere in the file."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(source.read_text(), str(source))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def breaches(package: str) -> list[str]:
    found = []
    for source in sorted((ROOT / package).rglob("*.py")):
        for name in imported(source):
            if name.split(".")[0] in FORBIDDEN[package]:
                found.append(f"{source.relative_to(ROOT)} imports {name}")
    return found


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_imports_only_what_its_layer_allows(package: str) -> None:
    assert breaches(package) == []


def test_a_forbidden_import_is_found(tmp_path: Path) -> None:
    source = tmp_path / "m.py"
    source.write_text("def f():\n    from emulators.talynce import app\n    import redis.asyncio\n")
    assert imported(source) == {"emulators.talynce", "redis.asyncio"}


def test_serving_path_imports_no_emulator() -> None:
    """Wherever emulators live (they were `providers.emulators` once), serving loads none."""
    probe = (
        "import sys, gateway.app, gateway.__main__\n"
        "print(sorted(m for m in sys.modules if 'emulators' in m.split('.')))"
    )
    run = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "[]"

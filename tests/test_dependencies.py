"""Every distribution the code imports is declared in pyproject.toml.

An undeclared import works only while something else happens to install it: a fresh install
from pyproject alone, or an upgrade of the package that pulled it in, breaks the gateway.
"""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OURS = {"gateway", "resolvers", "providers", "emulators", "store", "bench", "tests"}
RUNTIME = ("gateway", "resolvers", "providers", "emulators", "store")
"""Imported by the installed gateway: their distributions belong in [project] dependencies (or
an optional extra other than dev, for imports only reached when that extra is configured)."""
TOOLING = ("bench", "tests")
"""Imported by the tests and benchmarks: the dev extra suffices."""


def _name(requirement: str) -> str:
    """The normalized distribution name of a requirement string (`Foo_Bar[x]>=1` → foo-bar)."""
    match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
    assert match, requirement
    return re.sub(r"[-_.]+", "-", match.group(1)).lower()


def _imports(folder: str) -> dict[str, str]:
    """Top-level module imported → a file that imports it, for absolute third-party imports."""
    found: dict[str, str] = {}
    for path in sorted((ROOT / folder).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules = [node.module]
            else:
                continue
            for module in modules:
                top = module.split(".")[0]
                if top not in sys.stdlib_module_names and top not in OURS:
                    found.setdefault(top, str(path.relative_to(ROOT)))
    return found


def _declared() -> tuple[set[str], set[str], set[str]]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project.get("optional-dependencies", {})
    runtime = {_name(r) for r in project["dependencies"]}
    optional = {_name(r) for name, reqs in extras.items() if name != "dev" for r in reqs}
    dev = {_name(r) for r in extras.get("dev", [])}
    return runtime, optional, dev


def _undeclared(folders: tuple[str, ...], declared: set[str]) -> list[str]:
    distributions = importlib.metadata.packages_distributions()
    missing = []
    for folder in folders:
        for module, where in _imports(folder).items():
            names = {_name(d) for d in distributions.get(module, [])}
            assert names, f"{where} imports {module}, which no installed distribution provides"
            if not names & declared:
                missing.append(f"{where} imports {module} from {sorted(names)}")
    return missing


def test_every_distribution_the_gateway_imports_is_a_declared_dependency() -> None:
    runtime, optional, _ = _declared()
    assert _undeclared(RUNTIME, runtime | optional) == []


def test_every_distribution_the_tests_import_is_declared() -> None:
    runtime, optional, dev = _declared()
    assert _undeclared(TOOLING, runtime | optional | dev) == []


def test_the_compiled_paths_libraries_are_pinned_to_a_minor_range() -> None:
    """gateway.compiled reads graphql-core executor and Strawberry internals that change between
    minor releases: both have an upper bound (move it with `make test-latest`)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pins = {_name(r): r for r in project["dependencies"]}
    for name in ("graphql-core", "strawberry-graphql"):
        assert re.search(r"<\s*\d+\.\d+", pins.get(name, "")), f"{name} has no upper bound"


def test_the_websocket_library_serve_uses_is_a_declared_dependency() -> None:
    """uvicorn serves WebSockets only through a library it finds installed ("auto" takes any):
    `serve` names one, and pyproject declares it, so a fresh install serves subscriptions."""
    from gateway.server import server_config

    runtime, _, _ = _declared()
    config = server_config("gateway.app:app", None)
    assert config.ws == "wsproto"
    assert "wsproto" in runtime

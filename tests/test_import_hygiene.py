"""The engine must stay usable without the UI: importing any core module must not load textual or rich."""

from __future__ import annotations

import pkgutil
import re
import subprocess
import sys

import pytest

import nuanu_tui.core

CORE_MODULES = [
    "nuanu_tui.core",
    *sorted(m.name for m in pkgutil.walk_packages(nuanu_tui.core.__path__, prefix="nuanu_tui.core.")),
]
CORE_IMPORT = re.compile(r"^\s*(from|import)\s+nuanu_tui\.core\b", re.MULTILINE)
PROBE = (
    "import importlib, sys; importlib.import_module(sys.argv[1]); "
    "bad = sorted({m.split('.')[0] for m in sys.modules} & {'textual', 'rich'}); print(','.join(bad))"
)


@pytest.mark.parametrize("module", CORE_MODULES)
def test_core_module_does_not_import_ui_libraries(module: str) -> None:
    out = subprocess.run([sys.executable, "-c", PROBE, module], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "", f"{module} loads {out.stdout.strip()}"


BRIDGE_MODULES = {
    "link.py",
    "relay.py",
    "views.py",
    "console_bridge.py",
    "ride_bridge.py",
    "history_bridge.py",
    "compare_bridge.py",
    "bench_bridge.py",
}  # the shared engine link, and one module per mode over it


def test_only_the_bridge_modules_import_core_under_ui() -> None:
    """Widgets, screens and messages see view records, never engine objects (the bridges are the seam)."""
    import pathlib

    import nuanu_tui.ui

    root = pathlib.Path(nuanu_tui.ui.__file__).parent
    offenders = [
        str(p.relative_to(root))
        for p in root.rglob("*.py")
        if p.name not in BRIDGE_MODULES and CORE_IMPORT.search(p.read_text(encoding="utf-8"))
    ]
    assert offenders == []


def test_mode_bridges_stand_on_the_shared_link_only() -> None:
    """A mode's bridge may use the shared one (`bridge.py`), never another mode's bridge."""
    import pathlib

    import nuanu_tui.ui

    root = pathlib.Path(nuanu_tui.ui.__file__).parent
    shared = {"link.py", "relay.py", "views.py"}
    for name in BRIDGE_MODULES - shared:
        text = (root / name).read_text(encoding="utf-8")
        others = {m.removesuffix(".py") for m in BRIDGE_MODULES - shared - {name}}
        assert not any(f"nuanu_tui.ui.{o}" in text for o in others), name


def test_the_ride_view_loads_no_engine_stack_when_opened() -> None:
    """The ride runs in the engine's process: its view (and bridge) in the console's process stay light."""
    probe = (
        "import sys, nuanu_tui.ui.app, nuanu_tui.ui.ride_bridge, nuanu_tui.ui.screens.ride; heavy = {'numpy',"
        " 'openai', 'groq', 'websockets', 'miniaudio', 'sounddevice', 'soxr', 'pymorphy3', 'aiohttp'};"
        " print(','.join(sorted(heavy & set(sys.modules))))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == ""


def test_the_console_process_does_not_load_the_engine_stack() -> None:
    """The engine runs in its own process; the console importing the SDKs, numpy or the audio stack would
    only double their memory (the app's RSS target counts both processes)."""
    probe = (
        "import sys, nuanu_tui.ui.app; heavy = {'numpy', 'openai', 'groq', 'websockets', 'miniaudio', "
        "'sounddevice', 'soxr', 'pymorphy3', 'aiohttp'}; print(','.join(sorted(heavy & set(sys.modules))))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == ""


def test_the_engine_does_not_import_the_emulator() -> None:
    """`--demo` is composed outside `core/` (nuanu_tui.demo): no core module names the emulator; importing the
    engine stack, or checking NUANU_SIM_NET when Settings are built, loads none of it."""
    import pathlib

    root = pathlib.Path(nuanu_tui.core.__file__).parent
    sim_import = re.compile(r"^\s*(from|import)\s+nuanu_tui\.sim\b|from nuanu_tui import sim\b", re.MULTILINE)
    offenders = [
        str(p.relative_to(root)) for p in root.rglob("*.py") if sim_import.search(p.read_text("utf-8"))
    ]
    assert offenders == []
    probe = (
        "import os, sys, nuanu_tui.core.engine, nuanu_tui.core.host, nuanu_tui.core.ops, nuanu_tui.core.ride.compose;"
        " os.environ['NUANU_SIM_NET'] = 'lte'; nuanu_tui.core.config.Settings();"
        " print(','.join(sorted(m for m in sys.modules if m.startswith('nuanu_tui.sim'))))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == ""

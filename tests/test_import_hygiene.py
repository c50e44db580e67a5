"""The engine must stay usable without the UI: importing any core module must not load textual or rich."""

from __future__ import annotations

import ast
import pathlib
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


SHARED_BRIDGE_MODULES = {
    "link.py",  # EngineLink: the loop thread, engine lifecycle, ops, status, store
    "relay.py",  # engine events -> messages, per utterance
    "views.py",  # pure conversions to view records
}
MODE_BRIDGE_MODULES = {
    "console_bridge.py",
    "compare_bridge.py",
    "bench_bridge.py",
    "history_bridge.py",
    "ride_bridge.py",
}
BRIDGE_MODULES = SHARED_BRIDGE_MODULES | MODE_BRIDGE_MODULES  # the only modules under ui importing core
UI_IMPORT = re.compile(r"^\s*(?:from|import)\s+nuanu_tui\.ui\.(\w+)", re.MULTILINE)


def _ui_root() -> pathlib.Path:
    import nuanu_tui.ui

    return pathlib.Path(nuanu_tui.ui.__file__).parent


def test_only_the_bridge_modules_import_core_under_ui() -> None:
    """Widgets, screens and messages see view records, never engine objects (the bridges are the seam)."""
    root = _ui_root()
    assert {p.name for p in root.glob("*.py")} >= BRIDGE_MODULES  # the list names real files
    offenders = [
        str(p.relative_to(root))
        for p in root.rglob("*.py")
        if (p.parent != root or p.name not in BRIDGE_MODULES) and CORE_IMPORT.search(p.read_text("utf-8"))
    ]
    assert offenders == []


def test_mode_bridges_stand_on_the_shared_pieces_only() -> None:
    """A mode's bridge may use the shared link, relay and views, never another mode's bridge; the shared
    pieces use no mode's bridge."""
    root = _ui_root()
    modes = {m.removesuffix(".py") for m in MODE_BRIDGE_MODULES}
    for name in sorted(BRIDGE_MODULES):
        used = set(UI_IMPORT.findall((root / name).read_text("utf-8")))
        assert not used & (modes - {name.removesuffix(".py")}), name


def test_no_import_cycle_inside_the_ui() -> None:
    """Screens and commands reach the app through `NuanuHost` (ui/host.py), never `NuanuApp`. Every import
    counts, also one inside a function or under TYPE_CHECKING (as import-linter counts them)."""
    root = _ui_root()
    graph: dict[str, set[str]] = {}
    for path in root.rglob("*.py"):
        module = ".".join(("nuanu_tui.ui", *path.relative_to(root).with_suffix("").parts))
        module = module.removesuffix(".__init__")
        graph[module] = set()
        tree = ast.parse(path.read_text("utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                graph[module].add(node.module)
                graph[module].update(f"{node.module}.{a.name}" for a in node.names)
            elif isinstance(node, ast.Import):
                graph[module].update(a.name for a in node.names)
    for module in graph:
        graph[module] = {m for m in graph[module] if m in graph and m != module}

    cycles: list[list[str]] = []
    state: dict[str, int] = {}

    def visit(module: str, trail: list[str]) -> None:
        state[module] = 1
        for nxt in sorted(graph[module]):
            if state.get(nxt) == 1:
                cycles.append([*trail[trail.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt, [*trail, nxt])
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert cycles == []


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


def test_the_offline_path_to_the_first_sound_loads_no_heavy_library() -> None:
    """`say` offline (phrasebook + espeak + PCM) starts without numpy, soxr, num2words, the LLM SDKs or
    OpenTelemetry: together ~1 s of imports a remark at the output's own rate never needs (resampling, MP3,
    spelling numbers and telemetry load them on first use or in a warm-up thread)."""
    probe = (
        "import sys, nuanu_tui.cli.entry, nuanu_tui.cli.say, nuanu_tui.core.config, nuanu_tui.core.engine,"
        " nuanu_tui.core.tts.espeak, nuanu_tui.core.llm.phrasebook, nuanu_tui.core.instant;"
        " heavy = {'numpy', 'soxr', 'num2words', 'openai', 'groq', 'opentelemetry'};"
        " print(','.join(sorted(heavy & {m.split('.')[0] for m in sys.modules})))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == ""

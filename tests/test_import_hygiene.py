"""The house's layers. What the import graph says (core imports no UI/emulator/CLI, the UI no emulator, only
bridges reach the engine, no cycles) is import-linter's contracts in pyproject.toml, run here and in .ci/run.
What actually loads at run time, which contracts cannot see behind lazy imports, is probed in subprocesses."""

from __future__ import annotations

import os
import pathlib
import pkgutil
import shutil
import subprocess
import sys

import pytest

import nuanu_tui.core

CORE_MODULES = [
    "nuanu_tui.core",
    *sorted(m.name for m in pkgutil.walk_packages(nuanu_tui.core.__path__, prefix="nuanu_tui.core.")),
]
ROOT = pathlib.Path(__file__).resolve().parents[1]
PROBE = (
    "import importlib, sys; importlib.import_module(sys.argv[1]); "
    "bad = sorted({m.split('.')[0] for m in sys.modules} & {'textual', 'rich'}); print(','.join(bad))"
)


@pytest.mark.parametrize("module", CORE_MODULES)
def test_core_module_does_not_import_ui_libraries(module: str) -> None:
    out = subprocess.run([sys.executable, "-c", PROBE, module], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "", f"{module} loads {out.stdout.strip()}"


def test_import_contracts_hold() -> None:
    """`lint-imports` over pyproject.toml's contracts (in its own environment: see the `lint` group there);
    its report, with the offending import chains, on failure."""
    uv = os.environ.get("UV") or shutil.which("uv")
    assert uv, "uv is needed to run import-linter in its own environment (uv run --only-group lint)"
    cmd = [uv, "run", "--isolated", "--only-group", "lint", "lint-imports", "--no-cache"]
    out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    assert out.returncode == 0, (out.stdout + out.stderr)[-4000:]
    assert "0 broken" in out.stdout


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
    """`--demo` is composed outside `core/` (nuanu_tui.demo; the contract forbids core naming the emulator):
    importing the engine stack, or checking NUANU_SIM_NET when Settings are built, loads none of it."""
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


def test_the_ride_and_cloud_say_paths_load_only_the_primary_sdk() -> None:
    """`ride` and `say` with keys import the primary's SDK (groq) on the way to ready; the OpenAI SDK (~0.7 s
    of CPU, a spare link's, built in a thread), numpy/soxr (clips are stored at the output's rate),
    OpenTelemetry (after ready), num2words and the UI stay off the import path."""
    probe = (
        "import sys, nuanu_tui.cli.entry, nuanu_tui.cli.ride, nuanu_tui.cli.say, nuanu_tui.core.ride.compose,"
        " nuanu_tui.core.ride.session, nuanu_tui.core.engine, nuanu_tui.core.llm.cloud, nuanu_tui.core.instant,"
        " nuanu_tui.core.tts.elevenlabs; heavy = {'numpy', 'soxr', 'openai', 'opentelemetry', 'num2words',"
        " 'textual', 'rich', 'aiohttp'}; print(','.join(sorted(heavy & {m.split('.')[0] for m in sys.modules})))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == ""

"""Running where the shuttle runs (Linux aarch64, Windows, macOS): optional miniaudio, the Visual C++ runtime
behind espeak-ng, a lock that installs from wheels on each platform, and no module that needs a POSIX-only
one."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from nuanu_tui.core.audio.base import AudioFormat
from nuanu_tui.core.audio.decoders import make_decoder
from nuanu_tui.core.audio.miniaudio_sink import MiniaudioSink
from nuanu_tui.core.audio.null_sink import NullSink
from nuanu_tui.core.audio.sinks import make_sink
from nuanu_tui.core.audio.sounddevice_sink import SoundDeviceSink
from nuanu_tui.core.config import Settings
from nuanu_tui.core.errors import NuanuError


@pytest.fixture
def no_miniaudio(monkeypatch: pytest.MonkeyPatch) -> None:
    """As on a Jetson: `import miniaudio` raises ImportError."""
    monkeypatch.setitem(sys.modules, "miniaudio", None)


def test_pcm_needs_no_miniaudio(no_miniaudio: None) -> None:
    decoder = make_decoder(AudioFormat("pcm", 24000))
    assert decoder.feed(b"\x01\x02\x03") == b"\x01\x02"


def test_mp3_formats_say_they_need_miniaudio(no_miniaudio: None) -> None:
    with pytest.raises(NuanuError) as caught:
        make_decoder(AudioFormat("mp3", 44100))
    assert caught.value.kind == "config"
    assert caught.value.message.startswith("MP3 output formats: the miniaudio package is not installed")
    assert "miniaudio" in caught.value.message and "pcm_" in caught.value.message
    assert "\n" not in str(caught.value)


def test_elevenlabs_with_an_mp3_format_fails_at_creation(no_miniaudio: None) -> None:
    from nuanu_tui.core.tts.elevenlabs import ElevenLabsTTS

    settings = Settings().model_copy(update={"elevenlabs_api_key": SecretStr("sk-test")})
    with pytest.raises(NuanuError, match="MP3 output formats: the miniaudio package is not installed"):
        ElevenLabsTTS(settings, output_format="mp3_44100_128")
    assert ElevenLabsTTS(settings, output_format="pcm_24000").format == AudioFormat("pcm", 24000)


def test_miniaudio_backend_says_it_needs_miniaudio(
    no_miniaudio: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(
        NuanuError, match="the miniaudio audio back-end: the miniaudio package is not installed"
    ):
        MiniaudioSink.real_backends()

    def no_portaudio() -> str:
        raise OSError("PortAudio library not found")

    monkeypatch.setattr(SoundDeviceSink, "probe", staticmethod(no_portaudio))
    sink = make_sink("device")
    assert isinstance(sink, NullSink)
    assert sink.warning is not None and "the miniaudio package is not installed" in sink.warning
    assert "sounddevice plays without it" in sink.warning and "pcm_" not in sink.warning


# --- the espeak-ng DLL on Windows needs the Visual C++ runtime ------------------------------------------
def no_keys() -> Settings:
    return Settings().model_copy(
        update={"groq_api_key": None, "openai_api_key": None, "elevenlabs_api_key": None, "failover": "off"}
    )


@pytest.fixture
def dll_fails(monkeypatch: pytest.MonkeyPatch) -> Callable[[bool], None]:
    """The DLL load fails as on Windows (error 126); `vc_missing` says whether vcruntime140 is there."""
    from nuanu_tui.core.tts import espeak

    def arrange(vc_missing: bool) -> None:
        def refuse(path: str) -> Any:
            raise OSError(f"[WinError 126] The specified module could not be found: {path!r}")

        monkeypatch.setattr(espeak, "_open_dll", refuse)
        monkeypatch.setattr(espeak, "vc_runtime_missing", lambda: vc_missing)
        monkeypatch.setattr(espeak, "_engine", None)  # a fresh process-wide instance: it loads again

    return arrange


async def test_doctor_names_the_missing_vc_runtime(
    dll_fails: Callable[[bool], None], capsys: pytest.CaptureFixture[str]
) -> None:
    from nuanu_tui.cli.doctor import run as run_doctor
    from nuanu_tui.core.tts.espeak import VC_RUNTIME_MISSING

    dll_fails(True)
    assert await run_doctor(no_keys()) == 0
    lines = [ln for ln in capsys.readouterr().out.splitlines() if "espeak-ng" in ln]
    assert len(lines) == 1
    assert lines[0].split(None, 1)[1] == f"MISSING: {VC_RUNTIME_MISSING}"
    assert "Visual C++" in lines[0]


async def test_the_offline_banner_names_the_missing_vc_runtime(dll_fails: Callable[[bool], None]) -> None:
    from nuanu_tui.core.engine import Engine
    from nuanu_tui.core.tts.espeak import VC_RUNTIME_MISSING

    dll_fails(True)
    engine = await Engine.create(no_keys(), llm="offline/phrasebook", tts="espeak", audio="null")
    try:
        reasons = engine.status().offline_reasons
        assert reasons[-1] == VC_RUNTIME_MISSING
        assert any(r.startswith("TTS offline") for r in reasons)
        result = await engine.say("камера, две собаки слева")
        assert not result.ok and result.error_kind == "tts"
    finally:
        await engine.aclose()


async def test_other_load_failures_name_the_library(dll_fails: Callable[[bool], None]) -> None:
    from nuanu_tui.core.tts.espeak import open_library

    dll_fails(False)
    with pytest.raises(NuanuError) as caught:
        open_library()
    assert caught.value.message.startswith("espeak-ng library ")
    assert "cannot load: [WinError 126]" in caught.value.message and "Visual C++" not in caught.value.message


# --- kept honest by CI: the lock installs from wheels everywhere, and nothing needs a POSIX-only module ----
ROOT = Path(__file__).resolve().parent.parent
TARGETS = ("aarch64-manylinux_2_31", "x86_64-pc-windows-msvc", "aarch64-apple-darwin")
# Pure-Python sdists that build with no compiler, allowed by name (docopt: num2words' only dependency).
SDIST_ONLY = {"docopt"}
WHEEL_MISSING_ON = {"miniaudio": {"aarch64-manylinux_2_31"}}  # left out there by its environment marker


def uv() -> str:
    found = os.environ.get("UV") or shutil.which("uv")
    if not found:
        if os.environ.get("CI"):
            pytest.fail("uv is not on PATH in CI, where .ci/run installs it")
        pytest.skip("uv is not on PATH")
    return found


@pytest.mark.slow  # asks the package index for every locked version's files (a few seconds)
def test_the_lock_installs_from_wheels_on_every_platform(tmp_path: Path) -> None:
    """What `uv run nuanu-tui` / `uv run pytest` install (runtime and dev), resolved for each platform on
    the pinned Python with building from source forbidden."""
    python = (ROOT / ".python-version").read_text().strip()
    assert re.fullmatch(r"3\.\d+", python), python
    minor = int(python.split(".")[1])
    floor = re.search(r'requires-python = ">=3\.(\d+)"', (ROOT / "pyproject.toml").read_text())
    assert floor is not None and minor >= int(floor.group(1))
    exported = subprocess.run(
        [uv(), "export", "--frozen", "--no-hashes", "--no-emit-project", "--all-groups", "--no-header"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout.splitlines()
    names = {line.split("==")[0] for line in exported if "==" in line}
    assert names >= SDIST_ONLY and {"numpy", "orjson", "soxr", "lameenc", "espeakng-loader"} <= names
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("\n".join(ln for ln in exported if ln.split("==")[0] not in SDIST_ONLY) + "\n")
    for target in TARGETS:
        out = tmp_path / f"{target}.txt"
        done = subprocess.run(
            [uv(), "pip", "compile", str(requirements), "--python-version", python, "--python-platform", target,
             "--no-build", "--no-deps", "--no-header", "-q", "-o", str(out)],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=300,
        )  # fmt: skip
        assert done.returncode == 0, f"{target}: {done.stderr.strip()[-1500:]}"
        resolved = {line.split("==")[0] for line in out.read_text().splitlines() if "==" in line}
        for name, missing_on in WHEEL_MISSING_ON.items():
            assert (name in resolved) == (target not in missing_on), (target, name)
        assert len(resolved) > 50, target


BLOCKER = """
import importlib.abc, sys
BLOCKED = {"resource", "fcntl", "pty", "termios"}
class Windowsish(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name in BLOCKED:
            raise ModuleNotFoundError(f"No module named {name!r} (blocked, as on Windows)", name=name)
        return None
sys.meta_path.insert(0, Windowsish())
for name in BLOCKED:
    sys.modules.pop(name, None)
"""

IMPORT_ALL = """
import importlib, pkgutil, sys, traceback
import nuanu_tui, benchmarks
failed = []
count = 0
for package in (nuanu_tui, benchmarks):
    for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
        if info.name.rsplit(".", 1)[-1] == "__main__":
            continue  # importing it runs the program
        count += 1
        try:
            importlib.import_module(info.name)
        except Exception as exc:
            failed.append(f"{info.name}: {type(exc).__name__}: {exc}")
print(count)
print("\\n".join(failed))
sys.exit(1 if failed else 0)
"""


def run_blocked(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", BLOCKER + code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    )


def test_the_blocker_blocks() -> None:
    done = run_blocked("import resource")
    assert done.returncode == 1 and "blocked, as on Windows" in done.stderr


@pytest.mark.slow  # imports every module in a fresh interpreter
def test_every_module_imports_without_posix_only_modules() -> None:
    done = run_blocked(IMPORT_ALL)
    assert done.returncode == 0, done.stdout + done.stderr[-2000:]
    assert int(done.stdout.split()[0]) > 60  # the walk really found the package


@pytest.mark.slow  # collects the whole suite in a fresh interpreter
def test_the_whole_suite_collects_without_posix_only_modules() -> None:
    done = run_blocked(
        "import pytest; sys.exit(pytest.main(['--collect-only', '-q', '-p', 'no:cacheprovider', 'tests']))"
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert re.search(r"^\d+ tests collected", done.stdout, re.M), done.stdout[-500:]
    assert "error" not in done.stdout.lower().splitlines()[-1]


# --- peak memory, as each OS reports it -------------------------------------------------------------------
def test_peak_memory_is_read_the_way_the_os_reports_it(monkeypatch: pytest.MonkeyPatch) -> None:
    from nuanu_tui.core import memory

    if not Path("/proc/self/status").exists():
        pytest.skip("Linux /proc: the figure compared against")
    hwm_kib = next(
        int(line.split()[1])
        for line in Path("/proc/self/status").read_text().splitlines()
        if line.startswith("VmHWM:")
    )
    peak = memory.peak_rss_mb()
    assert peak is not None and abs(peak - hwm_kib / 1024) < 64
    import resource

    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB here; bytes on macOS
    monkeypatch.setattr(memory.sys, "platform", "darwin")
    assert memory.peak_rss_mb() == pytest.approx(maxrss / 1024 / 1024, rel=0.05)
    monkeypatch.setattr(memory.sys, "platform", "win32")
    monkeypatch.setitem(sys.modules, "resource", None)  # Windows has none
    assert memory.peak_rss_mb() is None
    assert memory.fmt_mb(None) == "unavailable" and memory.fmt_mb(81.6) == "82 MB"

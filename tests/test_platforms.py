"""Where miniaudio has no wheel (Linux aarch64) it is not installed: what needs it says so in one line."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import pytest
from pydantic import SecretStr

from nuanu_tui.core.audio.base import AudioFormat
from nuanu_tui.core.audio.decoders import make_decoder
from nuanu_tui.core.audio.sinks import MiniaudioSink, NullSink, SoundDeviceSink, make_sink
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
    from nuanu_tui.core.tts.espeak import VC_RUNTIME_MISSING
    from nuanu_tui.doctor import run_doctor

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

"""Where miniaudio has no wheel (Linux aarch64) it is not installed: what needs it says so in one line."""

from __future__ import annotations

import sys

import pytest
from pydantic import SecretStr

from nuanu_tui.core.audio.base import AudioFormat
from nuanu_tui.core.audio.decoders import make_decoder
from nuanu_tui.core.audio.sinks import MiniaudioSink, NullSink, SoundDeviceSink, make_sink
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
    from nuanu_tui.core.config import Settings
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

"""`nuanu-tui doctor`: what is configured, what is reachable, what will run offline — keys masked."""

from __future__ import annotations

import asyncio
import contextlib

from nuanu_tui.core.config import KEY_VARS, Settings, choose_defaults, mask
from nuanu_tui.core.errors import NuanuError


def _line(label: str, value: str) -> None:
    print(f"  {label:<22} {value}")


async def _probe_llm(spec: str, settings: Settings) -> str:
    from nuanu_tui.core.providers import make_llm

    try:
        provider = make_llm(spec, settings)
    except NuanuError as exc:
        return f"not configured ({exc.message})"
    try:
        async with asyncio.timeout(settings.connect_timeout + 1):
            models = await provider.list_models()
        model = spec.split("/", 1)[1]
        have = "available" if model in models else f"NOT listed (of {len(models)} models)"
        return f"reachable, {spec} {have}"
    except NuanuError as exc:
        return f"unreachable: {exc.message}"
    except TimeoutError:
        return "unreachable: timed out"
    finally:
        with contextlib.suppress(Exception):
            await provider.aclose()


async def _probe_tts(settings: Settings) -> str:
    from nuanu_tui.core.tts.elevenlabs import ElevenLabsTTS

    try:
        tts = ElevenLabsTTS(settings)
    except NuanuError as exc:
        return f"not configured ({exc.message})"
    try:
        await tts.connect()
        return f"socket open ({tts.url().split('?')[0]})"
    except NuanuError as exc:
        return f"unreachable: {exc.message}"
    finally:
        await tts.aclose()


def _audio_report() -> list[tuple[str, str]]:
    """The outputs `--audio device:NAME` / `device:INDEX` can choose, and what plain `device` would use."""
    from nuanu_tui.core.audio.sinks import make_sink
    from nuanu_tui.core.audio.sounddevice_sink import list_output_devices

    rows = []
    try:
        devices = list_output_devices()
    except OSError as exc:
        rows.append(("sounddevice", f"unavailable: {' '.join(str(exc).split())}"))
    else:
        rows.append(("sounddevice", f"{len(devices)} output device(s)" if devices else "no output devices"))
        rows.extend((f"  device:{index}", f"device:{name} ({api})") for index, name, api in devices)
    sink = make_sink("device")
    rows.append(("audio output", f"{sink.name}" + (f" — {sink.warning}" if sink.warning else "")))
    with contextlib.suppress(Exception):
        sink.close()
    return rows


def _offline_report() -> list[tuple[str, str]]:
    rows = []
    from nuanu_tui.core.tts.espeak import open_library

    try:
        open_library()  # loaded, not just found: a missing Visual C++ runtime shows only here
        import espeakng_loader

        rows.append(("espeak-ng", f"available ({espeakng_loader.get_library_path()})"))
    except NuanuError as exc:
        rows.append(("espeak-ng", f"MISSING: {exc.message}"))
    try:
        import pymorphy3

        pymorphy3.MorphAnalyzer(lang="ru")
        rows.append(("pymorphy3 (ru)", "available"))
    except Exception as exc:
        rows.append(("pymorphy3 (ru)", f"MISSING: {exc}"))
    return rows


async def run(settings: Settings) -> int:
    selection = choose_defaults(settings)
    print("keys")
    for provider, var in KEY_VARS.items():
        _line(var, mask(settings.key(provider)))
    print("selection")
    _line("LLM", selection.llm)
    _line("TTS", selection.tts)
    _line("offline", "; ".join(selection.offline_reasons) if selection.offline else "no (cloud)")
    print("endpoints")
    probes = []
    if settings.key("groq"):
        probes.append(("Groq", _probe_llm(f"groq/{settings.groq_model}", settings)))
    if settings.key("openai"):
        probes.append(("OpenAI", _probe_llm(f"openai/{settings.openai_model}", settings)))
    if settings.key("elevenlabs"):
        probes.append(("ElevenLabs", _probe_tts(settings)))
    results = await asyncio.gather(*(p for _, p in probes))
    for (label, _), text in zip(probes, results, strict=True):
        _line(label, text)
    if not probes:
        _line("(none)", "no keys set: nothing to probe; running offline")
    print("audio")
    for label, text in await asyncio.to_thread(_audio_report):
        _line(label, text)
    print("offline parts")
    for label, text in _offline_report():
        _line(label, text)
    return 0

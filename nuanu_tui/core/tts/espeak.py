"""espeak TTS: offline Russian speech from the espeak-ng library bundled in the `espeakng-loader` wheel.

espeak-ng is driven through ctypes in synchronous mode: `espeak_Synth` calls our callback with ~50 ms
of int16 audio at a time, and every call is forwarded to the asyncio side at once, so audio streams while
the text is still being synthesised. The library keeps global state and is not thread-safe, so ONE worker
thread (shared by every EspeakTTS in the process) does all initialisation and synthesis, in submission
order; the event loop never blocks on it.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import sys
import threading
from collections.abc import AsyncIterator, Callable
from concurrent.futures import Future, ThreadPoolExecutor

from nuanu_tui.core.audio.base import AudioFormat
from nuanu_tui.core.errors import NuanuError
from nuanu_tui.core.grammar import strip_unspeakable

SAMPLE_RATE = 22050
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_ESPEAK_RATE = 1  # espeak_PARAMETER.espeakRATE
_POS_CHARACTER = 1
_CHARS_UTF8 = 1
_BUFFER_MS = 50  # audio per callback: small enough for a fast first chunk, large enough to be cheap
_MISSING = "espeak-ng library not found: install the espeakng-loader package (pip install espeakng-loader)"
VC_RUNTIME_MISSING = (
    "espeak-ng cannot load: its DLL needs the Microsoft Visual C++ runtime, which is missing; "
    "install the Microsoft Visual C++ Redistributable (x64) and start again"
)

_SynthCallback = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)


class _Job:
    """One synthesis request. `on_pcm` runs on the worker thread; `cancelled` is read there too."""

    __slots__ = ("cancelled", "on_pcm")

    def __init__(self, on_pcm: Callable[[bytes], None]) -> None:
        self.on_pcm = on_pcm
        self.cancelled = False


class _Engine:
    """The process-wide espeak-ng instance and its single worker thread."""

    def __init__(self) -> None:
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="espeak")
        self.lib: ctypes.CDLL | None = None
        self.sample_rate = SAMPLE_RATE
        self._voice: str | None = None
        self._rate: int | None = None
        self._job: _Job | None = None
        self._callback = _SynthCallback(self._on_audio)  # keep a reference: ctypes does not

    # --- worker thread only ---
    def _load(self) -> ctypes.CDLL:
        if self.lib is not None:
            return self.lib
        lib, data_path = open_library()
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        lib.espeak_Initialize.restype = ctypes.c_int
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_SetVoiceByName.restype = ctypes.c_int
        lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        lib.espeak_SetParameter.restype = ctypes.c_int
        lib.espeak_SetSynthCallback.argtypes = [_SynthCallback]
        lib.espeak_SetSynthCallback.restype = None
        lib.espeak_Synth.argtypes = [
            ctypes.c_void_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int, ctypes.c_uint, ctypes.c_uint,
            ctypes.c_void_p, ctypes.c_void_p,
        ]  # fmt: skip
        lib.espeak_Synth.restype = ctypes.c_int
        rate = lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, _BUFFER_MS, data_path, 0)
        if rate <= 0:
            raise NuanuError("tts", f"espeak-ng failed to initialise (data at {data_path.decode()})")
        self.sample_rate = rate
        lib.espeak_SetSynthCallback(self._callback)
        self.lib = lib
        return lib

    def _configure(self, voice: str, rate: int) -> ctypes.CDLL:
        lib = self._load()
        if voice != self._voice:
            if lib.espeak_SetVoiceByName(voice.encode()) != 0:
                raise NuanuError("tts", f"espeak-ng has no voice {voice!r} (try ru, en, en-us)")
            self._voice, self._rate = voice, None  # a new voice resets the rate
        if rate != self._rate:
            lib.espeak_SetParameter(_ESPEAK_RATE, rate, 0)
            self._rate = rate
        return lib

    def _on_audio(self, wav: ctypes._Pointer, numsamples: int, _events: int | None) -> int:
        job = self._job
        if job is None or job.cancelled:
            return 1  # abort this synthesis
        if numsamples > 0 and wav:
            job.on_pcm(ctypes.string_at(wav, numsamples * 2))
        return 0

    def synth(self, text: str, voice: str, rate: int, job: _Job) -> None:
        """Synthesise `text`, handing PCM to `job.on_pcm` as espeak produces it (blocks the worker)."""
        lib = self._configure(voice, rate)
        if job.cancelled or not text:
            return
        data = text.encode("utf-8") + b"\0"
        self._job = job
        try:
            lib.espeak_Synth(data, len(data), 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None)
        finally:
            self._job = None

    # --- any thread ---
    def submit(self, fn: Callable[..., object], *args: object) -> Future[object]:
        return self.executor.submit(fn, *args)


def open_library() -> tuple[ctypes.CDLL, bytes]:
    """The espeak-ng library from the espeakng-loader wheel and its data path; NuanuError in one line,
    naming the Visual C++ runtime when that is what is missing (Windows)."""
    try:
        import espeakng_loader

        path = espeakng_loader.get_library_path()
        data_path = espeakng_loader.get_data_path().encode()
    except (ImportError, OSError, RuntimeError) as exc:
        raise NuanuError("tts", _MISSING) from exc
    if not os.path.exists(path):
        raise NuanuError("tts", _MISSING)
    try:
        return _open_dll(path), data_path
    except OSError as exc:
        if vc_runtime_missing():
            raise NuanuError("tts", VC_RUNTIME_MISSING) from exc
        raise NuanuError("tts", f"espeak-ng library {path} cannot load: {exc}") from exc


def _open_dll(path: str) -> ctypes.CDLL:
    """The one place the DLL is loaded (tests make it fail here to check what the operator is told)."""
    return ctypes.CDLL(path)


def vc_runtime_missing() -> bool:
    """Windows only: the espeak-ng DLL links against vcruntime140.dll, which a bare Windows may lack."""
    if sys.platform != "win32":
        return False
    try:
        ctypes.WinDLL("vcruntime140.dll")  # type: ignore[attr-defined]
    except OSError:
        return True
    return False


_engine: _Engine | None = None
_engine_lock = threading.Lock()


def _get_engine() -> _Engine:
    global _engine
    with _engine_lock:
        if _engine is None:
            _engine = _Engine()
        return _engine


_END = object()


class EspeakUtterance:
    """One utterance: each `send` is synthesised in order on the worker; audio streams as it is made."""

    reused = True  # nothing to connect: the engine is local and already initialised

    def __init__(self, tts: EspeakTTS, utterance_id: str) -> None:
        self.format = tts.format
        self.utterance_id = utterance_id
        self._tts = tts
        self._loop = asyncio.get_running_loop()
        self._queue: asyncio.Queue[object] = asyncio.Queue()
        self._jobs: list[_Job] = []
        self._finished = False
        self._cancelled = False

    def _put(self, item: object) -> None:
        """Called from the worker thread: hand an item to the loop without blocking synthesis."""
        with contextlib.suppress(RuntimeError):  # loop closed: nobody is listening any more
            self._loop.call_soon_threadsafe(self._queue.put_nowait, item)

    def _run(self, text: str, job: _Job) -> None:
        try:
            self._tts.engine.synth(text, self._tts.voice, self._tts.rate, job)
        except NuanuError as exc:
            self._put(exc)
        except Exception as exc:  # a ctypes fault must still end the iterator with one line
            self._put(NuanuError("tts", f"espeak-ng synthesis failed: {type(exc).__name__}: {exc}"))

    async def send(self, text: str) -> None:
        if self._finished or self._cancelled:
            return
        clean = strip_unspeakable(text)
        if not clean:
            return
        job = _Job(self._put)
        self._jobs.append(job)
        self._tts.engine.submit(self._run, clean, job)

    async def finish(self) -> None:
        if self._finished or self._cancelled:
            return
        self._finished = True
        # FIFO on the single worker: the end marker follows the last chunk's audio
        self._tts.engine.submit(self._put, _END)

    async def audio(self) -> AsyncIterator[bytes]:
        while True:
            item = await self._queue.get()
            if item is _END or self._cancelled:
                return
            if isinstance(item, NuanuError):
                raise item
            if isinstance(item, bytes):
                yield item

    async def cancel(self) -> None:
        if self._cancelled:
            return
        self._cancelled = True
        for job in self._jobs:
            job.cancelled = True  # the callback returns 1 on its next call; queued jobs do nothing
        self._queue.put_nowait(_END)


class EspeakTTS:
    """TTSProvider on espeak-ng: offline, Russian by default, PCM s16le mono at 22050 Hz."""

    offline = True
    format = AudioFormat("pcm", SAMPLE_RATE)

    def __init__(self, voice: str = "ru", rate: int = 175) -> None:
        self.voice = voice
        self.rate = rate
        self.engine = _get_engine()
        self._connected = False
        self._closed = False

    @property
    def spec(self) -> str:
        return f"espeak/{self.voice}"

    @property
    def state(self) -> str:
        return "closed" if self._closed else "local"

    async def connect(self) -> None:
        """Load and initialise the library and select the voice on the worker thread, once."""
        if self._connected:
            return
        await asyncio.wrap_future(self.engine.submit(self.engine._configure, self.voice, self.rate))
        # one throw-away word pages in the voice's dictionaries, so the first real utterance is warm
        warmup = _Job(lambda _pcm: None)
        await asyncio.wrap_future(self.engine.submit(self.engine.synth, "да", self.voice, self.rate, warmup))
        self._connected = True

    async def start(self, utterance_id: str) -> EspeakUtterance:
        if self._closed:
            raise NuanuError("tts", "espeak TTS is closed")
        await self.connect()
        return EspeakUtterance(self, utterance_id)

    def synth_blocking(self, text: str) -> bytes:
        """Whole text → PCM at 22050 Hz (for callers outside asyncio, e.g. the emulator's speech_fn)."""
        chunks: list[bytes] = []
        job = _Job(chunks.append)
        self.engine.submit(self.engine.synth, strip_unspeakable(text), self.voice, self.rate, job).result()
        return b"".join(chunks)

    async def aclose(self) -> None:
        self._closed = True

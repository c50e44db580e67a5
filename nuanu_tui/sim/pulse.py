"""A private PulseAudio server with a null sink: a real audio stack to play through without a sound card.

Tests and benchmarks start one with its own runtime directory and socket, so it touches nothing else on
the machine. Clients reach it through `env()` (PULSE_SERVER), which must be set before a process loads
PortAudio: ALSA's pulse plugin then routes ALSA's `default` (and `pulse`) to this server. `Recorder`
captures the sink's monitor with `parec`, which is what a listener next to the speaker would hear.

The operations the fault tests need are here too: unload and reload the sink (a USB speaker pulled and
plugged back), suspend it, kill the server and start it again.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

SINK = "nuanu_speaker"
RECORD_RATE = 48000
READY_TIMEOUT_S = 10.0


def available() -> str | None:
    """None when a private server can run here, else why not (one line)."""
    missing = [tool for tool in ("pulseaudio", "pactl", "parec") if shutil.which(tool) is None]
    if missing:
        return f"{', '.join(missing)} not installed (apt-get install pulseaudio pulseaudio-utils)"
    return None


class PulseServer:
    """`start()` a server owning `runtime_dir`; `stop()` kills it. Restartable after `kill()`."""

    def __init__(self, runtime_dir: Path | None = None, sink: str = SINK, rate: int = RECORD_RATE) -> None:
        self._own_dir = runtime_dir is None
        self.runtime_dir = Path(runtime_dir or tempfile.mkdtemp(prefix="nuanu-pulse-"))
        self.sink = sink
        self.rate = rate
        self.socket = self.runtime_dir / "native"
        self.log_path = self.runtime_dir / "pulseaudio.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.sink_module: str | None = None

    @property
    def server(self) -> str:
        return f"unix:{self.socket}"

    def env(self) -> dict[str, str]:
        """What a client process needs to reach this server (and only this one)."""
        return {
            "PULSE_SERVER": self.server,
            "PULSE_SINK": self.sink,
            "PULSE_RUNTIME_PATH": str(self.runtime_dir),
        }

    def _server_env(self) -> dict[str, str]:
        env = dict(os.environ)
        home = self.runtime_dir / "home"
        home.mkdir(parents=True, exist_ok=True)
        env.update(
            HOME=str(home),
            XDG_RUNTIME_DIR=str(self.runtime_dir),
            XDG_CONFIG_HOME=str(home / ".config"),
            PULSE_RUNTIME_PATH=str(self.runtime_dir),
        )
        env.pop("PULSE_SERVER", None)
        env.pop("DBUS_SESSION_BUS_ADDRESS", None)
        return env

    def start(self) -> PulseServer:
        """Start the daemon and load the null sink; returns once `pactl` can reach it."""
        if self.proc is not None and self.proc.poll() is None:
            return self
        with contextlib.suppress(FileNotFoundError):
            self.socket.unlink()
        log = open(self.log_path, "ab")  # noqa: SIM115 - handed to the daemon
        try:
            self.proc = subprocess.Popen(
                [
                    "pulseaudio",
                    "-n",  # no default.pa: nothing but what we load
                    "--daemonize=no",
                    "--exit-idle-time=-1",
                    "--use-pid-file=no",
                    "--system=no",
                    "--disallow-exit=no",
                    "--high-priority=yes",  # like a desktop's server: a loaded CI machine starves it less
                    "--realtime=yes",  # granted only where allowed (root in CI); ignored otherwise
                    "--log-target=stderr",
                    "-L",
                    f"module-native-protocol-unix socket={self.socket} auth-anonymous=1",
                ],
                env=self._server_env(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                start_new_session=True,
            )
        finally:
            log.close()
        self._wait_ready()
        self.load_sink()
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while True:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"pulseaudio exited ({self.proc.returncode}); see {self.log_path}")
            if self.socket.exists() and self.pactl("info", check=False).returncode == 0:
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"pulseaudio did not come up in {READY_TIMEOUT_S} s; see {self.log_path}")
            threading.Event().wait(0.02)  # polling the daemon's readiness, not papering over a race

    def pactl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        env = dict(os.environ, PULSE_SERVER=self.server)
        done = subprocess.run(["pactl", *args], env=env, capture_output=True, text=True, timeout=10)
        if check and done.returncode != 0:
            raise RuntimeError(f"pactl {' '.join(args)}: {done.stderr.strip() or done.returncode}")
        return done

    # --- the speaker ------------------------------------------------------------------------------------
    def load_sink(self) -> None:
        """Plug the speaker in: a null sink named `sink`, the server's default."""
        done = self.pactl(
            "load-module",
            "module-null-sink",
            f"sink_name={self.sink}",
            f"rate={self.rate}",
            "channels=2",
            f"sink_properties=device.description={self.sink}",
        )
        self.sink_module = done.stdout.strip()
        self.pactl("set-default-sink", self.sink)

    def unload_sink(self) -> None:
        """Pull the speaker out (what a loose USB cable does)."""
        if self.sink_module is not None:
            self.pactl("unload-module", self.sink_module)
            self.sink_module = None

    def suspend(self, suspended: bool = True) -> None:
        self.pactl("suspend-sink", self.sink, "1" if suspended else "0")

    def has_sink(self) -> bool:
        done = self.pactl("list", "short", "sinks", check=False)
        return done.returncode == 0 and any(
            line.split("\t")[1:2] == [self.sink] for line in done.stdout.splitlines()
        )

    def ensure_speaker(self) -> None:
        """Server up, sink loaded and running: the state every test starts from."""
        if self.proc is None or self.proc.poll() is not None:
            self.start()
            return
        if not self.has_sink():
            self.load_sink()
        self.suspend(False)

    def kill(self) -> None:
        """The audio server dies (SIGKILL: no goodbye to its clients)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)
        self.sink_module = None

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self.proc = None
        if self._own_dir:
            shutil.rmtree(self.runtime_dir, ignore_errors=True)

    def record(self, latency_ms: int = 20) -> Recorder:
        """Start recording the sink's monitor (mono s16le at `rate`); returns once samples flow."""
        recorder = Recorder(self, latency_ms)
        if not recorder.flowing.wait(READY_TIMEOUT_S):
            recorder.stop()
            raise RuntimeError(f"parec recorded nothing from {self.sink}.monitor in {READY_TIMEOUT_S} s")
        return recorder


def _widen_pipe(pipe: object) -> None:
    """parec blocks on a full pipe and the server then drops captured audio (a record overrun, heard in the
    analysis as a remark out of alignment). A 1 MiB pipe holds ~10 s at 48 kHz: a busy reader never stalls
    it."""
    with contextlib.suppress(ImportError, AttributeError, OSError, ValueError):
        import fcntl

        fcntl.fcntl(pipe.fileno(), fcntl.F_SETPIPE_SZ, 1 << 20)  # type: ignore[attr-defined]


@dataclass(slots=True)
class Recording:
    """What the monitor captured: mono int16 samples, and the perf_counter_ns of its first sample."""

    samples: bytes
    rate: int
    start_ns: int


class Recorder:
    """`parec` on the sink's monitor. The first sample's time is anchored by reading as it arrives: data can
    only arrive after it was captured, so the earliest (arrival time - audio received so far) over all
    reads bounds when the first sample was rendered; parec's small latency keeps that bound tight."""

    def __init__(self, server: PulseServer, latency_ms: int) -> None:
        self.server = server
        self.latency_ms = latency_ms
        env = dict(os.environ, PULSE_SERVER=server.server)
        self.proc = subprocess.Popen(
            [
                "parec",
                "-d",
                f"{server.sink}.monitor",
                "--raw",
                "--format=s16le",
                f"--rate={server.rate}",
                "--channels=1",
                f"--latency-msec={latency_ms}",
            ],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        _widen_pipe(self.proc.stdout)
        self._chunks: list[bytes] = []
        self._start_ns: int | None = None  # lower envelope of (arrival - duration received so far)
        self.flowing = threading.Event()  # the monitor's first samples have arrived
        self._reader = threading.Thread(target=self._read, name="parec-reader", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        received = 0
        while True:
            data = self.proc.stdout.read1(65536)  # type: ignore[attr-defined]
            if not data:
                return
            received += len(data)
            start = time.perf_counter_ns() - (received // 2) * 1_000_000_000 // self.server.rate
            if self._start_ns is None or start < self._start_ns:
                self._start_ns = start
            self._chunks.append(data)
            self.flowing.set()

    def stop(self) -> Recording:
        self.proc.terminate()
        self.proc.wait(timeout=5)
        self._reader.join(timeout=5)
        data = b"".join(self._chunks)
        return Recording(data[: len(data) & ~1], self.server.rate, self._start_ns or 0)

"""A real MQTT broker for tests: Debian's mosquitto on 127.0.0.1, a password file made by mosquitto_passwd,
anonymous clients refused. Tests that need it skip when mosquitto is not installed (.ci/run installs it)."""

from __future__ import annotations

import getpass
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest


def _find(name: str) -> str | None:
    return shutil.which(name) or next(
        (p for p in (f"/usr/sbin/{name}", f"/usr/bin/{name}", f"/usr/local/sbin/{name}") if Path(p).exists()),
        None,
    )


MOSQUITTO = _find("mosquitto")
MOSQUITTO_PASSWD = _find("mosquitto_passwd")
needs_mosquitto = pytest.mark.skipif(
    MOSQUITTO is None or MOSQUITTO_PASSWD is None,
    reason="needs mosquitto and mosquitto_passwd (.ci/run installs them)",
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Broker:
    """One mosquitto process; `stop()` and `start()` again keep the port (a broker restart)."""

    def __init__(self, folder: Path, users: dict[str, str], port: int | None = None) -> None:
        assert MOSQUITTO is not None and MOSQUITTO_PASSWD is not None
        self.folder = folder
        self.port = port or free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        passwd = folder / "passwd"
        passwd.touch()
        for user, password in users.items():
            subprocess.run(
                [MOSQUITTO_PASSWD, "-b", str(passwd), user, password], check=True, capture_output=True
            )
        self.conf = folder / "mosquitto.conf"
        self.conf.write_text(
            f"listener {self.port} 127.0.0.1\n"
            "allow_anonymous false\n"
            f"password_file {passwd}\n"
            "persistence false\n"
            f"user {getpass.getuser()}\n"  # as root it would switch to `mosquitto`, who cannot read tmp files
            f"log_dest file {folder / 'mosquitto.log'}\n",
            encoding="utf-8",
        )

    def start(self, timeout: float = 10.0) -> None:
        assert self.proc is None
        self.proc = subprocess.Popen(
            [str(MOSQUITTO), "-c", str(self.conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + timeout
        while True:  # accepting connections: the listener is up
            if self.proc.poll() is not None:
                raise RuntimeError(f"mosquitto exited with {self.proc.returncode}: {self.log()[-500:]}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.02)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
            self.proc = None

    def log(self) -> str:
        path = self.folder / "mosquitto.log"
        return path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""

"""Shipped data lives in the top-level assets/ and travels inside the wheel; one locator finds it either way."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from nuanu_tui.core.assets import asset_files, assets_root, read_asset

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = (
    "labels.json",
    "interjections.json",
    "blocklists/blocklist_ru.txt",
    "blocklists/blocklist_en.txt",
    "triggers/ride.txt",
    "rides/village_street.jsonl",
    "rides/temple_ceremony.jsonl",
    "rides/market_in_rain.jsonl",
    "rides/camera_crossing.jsonl",
)


def test_a_checkout_reads_the_top_level_assets_folder() -> None:
    assert Path(str(assets_root())) == ROOT / "assets"
    for name in SHIPPED:
        assert read_asset(name) == (ROOT / "assets" / name).read_text(encoding="utf-8")
    assert asset_files("rides", ".jsonl") == [
        "camera_crossing.jsonl",
        "market_in_rain.jsonl",
        "temple_ceremony.jsonl",
        "village_street.jsonl",
    ]
    assert not (ROOT / "nuanu_tui" / "assets").exists()


@pytest.mark.skipif(shutil.which("uv") is None, reason="needs uv to build the wheel")
def test_the_wheel_carries_the_assets_and_reads_them_from_inside(tmp_path: Path) -> None:
    subprocess.run(["uv", "build", "--wheel", "-q", "-o", str(tmp_path)], cwd=ROOT, check=True, timeout=120)
    wheel = next(tmp_path.glob("*.whl"))
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        assert {f"nuanu_tui/assets/{n}" for n in SHIPPED} <= names
        z.extractall(tmp_path / "site")
    probe = (
        "from nuanu_tui.core.assets import assets_root, read_asset; from nuanu_tui.core.ride.vocab import vocabulary;"
        "print(assets_root()); print(vocabulary().trigger('dog', 2, 'left'))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=tmp_path, env={"PYTHONPATH": str(tmp_path / "site")},
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-2000:]
    where, trigger = out.stdout.splitlines()
    assert Path(where) == tmp_path / "site" / "nuanu_tui" / "assets"
    assert trigger == "две собаки слева"

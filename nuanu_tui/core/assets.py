"""One place that finds shipped data (trigger sets, blocklists, the label vocabulary, sample rides).

The data lives in the repository's top-level `assets/` (the design card's layout). A wheel carries the same
folder as `nuanu_tui/assets` (hatch force-include), so an installed copy and a source checkout both resolve
through `asset()` and nothing else needs to know which one it is.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

from nuanu_tui.core.errors import NuanuError


@cache
def assets_root() -> Traversable:
    """`nuanu_tui/assets` inside an installed wheel, else `assets/` beside the package in a checkout."""
    packaged = resources.files("nuanu_tui").joinpath("assets")
    if packaged.is_dir():
        return packaged
    checkout = Path(__file__).resolve().parents[2] / "assets"
    if checkout.is_dir():
        return checkout
    raise NuanuError("config", "nuanu-tui's shipped assets are missing (reinstall the package)")


def asset(relative: str) -> Traversable:
    """A shipped file by its path under `assets/`, e.g. `rides/village_street.jsonl`."""
    node = assets_root()
    for part in relative.split("/"):
        node = node.joinpath(part)
    return node


def read_asset(relative: str) -> str:
    return asset(relative).read_text(encoding="utf-8")


def asset_files(folder: str, suffix: str = "") -> list[str]:
    """Names of the files in an assets folder (sorted), e.g. the sample rides."""
    return sorted(p.name for p in asset(folder).iterdir() if p.is_file() and p.name.endswith(suffix))

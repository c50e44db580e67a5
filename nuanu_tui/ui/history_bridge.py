"""The history view's bridge (and the bench view's look at past runs): blocking store queries over the shared
engine link's store. It needs the store handle, not the engine loop: call it from a thread worker, never
the UI thread."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nuanu_tui.core.errors import NuanuError
from nuanu_tui.core.ratings import like_text, rate
from nuanu_tui.core.store_rows import row_to_result
from nuanu_tui.ui.link import EngineLink
from nuanu_tui.ui.messages import StageDeltaView, UtteranceView
from nuanu_tui.ui.views import provider_of, stage_deltas, summary_json, view_of


class HistoryBridge:
    """Sessions, bench runs, utterances and exports, read through the link's store."""

    def __init__(self, link: EngineLink) -> None:
        self.link = link

    def history(
        self, provider: str | None = None, limit: int = 500, flag: str | None = None
    ) -> dict[str, Any]:
        """Sessions, bench runs and the latest utterances (plain dicts), optionally for one provider
        (`groq`) or spec (`groq/llama-3.1-8b-instant`) and one quality flag; plus the providers seen."""
        store = self.link.open_store()
        if store is None:
            raise NuanuError("store", self.link.store_error or "no database configured")
        provider = provider or None
        utterances = store.utterances(provider=provider, limit=limit, flag=flag or None)
        all_specs = {r["llm"] for r in store.utterances(limit=5000)} | {r["tts"] for r in utterances}
        runs = store.bench_runs()
        sessions = store.sessions()
        if provider is not None:
            seen = {r["session_id"] for r in store.utterances(provider=provider)}
            sessions = [s for s in sessions if s["id"] in seen]
            runs = [r for r in runs if any(_matches(spec, provider) for spec in r["config"].get("llms", []))]
        for run in runs:
            all_specs.update(run["config"].get("llms", []))
        providers = sorted({provider_of(s) for s in all_specs if s} | {s for s in all_specs if s})
        rtt = store.rtt_series()  # the console's net readings, every session's, oldest first
        return {
            "sessions": sessions,
            "bench_runs": runs,
            "utterances": utterances,
            "providers": providers,
            "rtt": rtt,
        }

    def bench_run(self, run_id: str) -> tuple[dict[str, Any] | None, list[UtteranceView]]:
        """One stored bench run (config, summary, status) and its counted utterances in order."""
        store = self.link.open_store()
        if store is None:
            raise NuanuError("store", self.link.store_error or "no database configured")
        run = next((r for r in store.bench_runs() if r["id"] == run_id), None)
        results = [row_to_result(row) for row in store.utterances(run_id=run_id)]
        if run is not None and run["summary"] is None:  # still running, or its process died mid-run
            run["summary"] = summary_json(results)
        return run, [view_of(r) for r in results]

    def ratings(self) -> tuple[int, int, list[tuple[str, ...]]]:
        """The arena's ratings as table rows, best first — rank, score, 95 % interval, wins-losses-ties, the
        quick ratings' like-rate, configuration — then configurations with quick ratings only; plus the
        vote and quick-rating counts. The Bradley–Terry fit with bootstrap intervals takes a second or so
        (and choix's first import): call from a thread worker."""
        store = self.link.open_store()
        if store is None:
            raise NuanuError("store", self.link.store_error or "no database configured")
        ratings, likes = rate(store.votes()), store.likes()
        rows = [
            (
                str(rank),
                f"{r.score:.0f}",
                f"{r.ci95[0]:.0f}–{r.ci95[1]:.0f}",
                f"{r.wins}-{r.losses}-{r.ties}",
                like_text(likes.get(r.config)),
                r.config,
            )
            for rank, r in enumerate(ratings.ratings, 1)
        ]
        voted = {r.config for r in ratings.ratings}
        rows += [("", "", "", "", like_text(like), c) for c, like in likes.items() if c not in voted]
        return ratings.votes, sum(like.total for like in likes.values()), rows

    def bench_runs(self) -> list[dict[str, Any]]:
        store = self.link.open_store()
        return [] if store is None else store.bench_runs()

    def export(self, path: str, fmt: str, provider: str | None = None, flag: str | None = None) -> int:
        """Write the (filtered) utterances to `path` as CSV or JSON; returns the row count."""
        store = self.link.open_store()
        if store is None:
            raise NuanuError("store", self.link.store_error or "no database configured")
        try:
            if fmt == "json":
                return store.export_json(path, provider=provider or None, flag=flag or None)
            return store.export_csv(path, provider=provider or None, flag=flag or None)
        except OSError as exc:
            raise NuanuError("export", f"cannot write {path}: {exc.strerror or exc}") from None

    def deltas(self, old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, dict[str, StageDeltaView]]:
        """Pure and cheap (no I/O): per spec and stage, an earlier run's median against a newer one's."""
        return stage_deltas(old, new)

    def utterance_view(self, row: Mapping[str, Any]) -> UtteranceView:
        return view_of(row_to_result(row))


def _matches(spec: str, provider: str) -> bool:
    return spec == provider or spec.startswith(provider + "/")

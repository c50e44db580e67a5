"""Arena votes and ratings: configuration names, the vote file (bad lines refuse the file), the vote store
(import merges, twice adds nothing), quick ratings per configuration, and the Bradley–Terry fit against
cases computed by hand."""

from __future__ import annotations

import json
import math
import sqlite3
from pathlib import Path

import pytest

from nuanu_tui.core.errors import NuanuError
from nuanu_tui.core.ratings import PRIOR, Likes, rate
from nuanu_tui.core.store import Store
from nuanu_tui.core.timeline import UtteranceResult
from nuanu_tui.core.votes import (
    Vote,
    VoteFileError,
    config_name,
    config_of,
    make_vote,
    read_votes,
    write_votes,
)

FAST = "groq/llama-3.1-8b-instant · default@1 · elevenlabs/eleven_flash_v2_5"
BIG = "groq/llama-3.3-70b-versatile · default@1 · elevenlabs/eleven_flash_v2_5"
MINI = "openai/gpt-4o-mini · minimal@1 · elevenlabs/eleven_flash_v2_5"


def votes_of(*outcomes: tuple[str, str, str]) -> list[Vote]:
    return [
        make_vote(a, b, winner, trigger="две собаки слева", operator="ketut", ts=1_800_000_000.0 + i)  # type: ignore[arg-type]
        for i, (a, b, winner) in enumerate(outcomes)
    ]


def elo_gap(ratio: float) -> float:
    """The score gap between two configurations whose strengths have `ratio`."""
    return 400 * math.log10(ratio)


# --- configuration names ------------------------------------------------------------------------------
def test_config_name_joins_llm_prompt_and_tts() -> None:
    assert config_name("groq/llama-3.1-8b-instant", "default@1", "elevenlabs/eleven_flash_v2_5") == FAST
    assert config_name("offline/phrasebook", None, "espeak") == "offline/phrasebook · - · espeak"


def test_config_of_names_the_llm_that_wrote_the_text() -> None:
    result = UtteranceResult(
        trigger="t", llm="groq/llama-3.1-8b-instant", tts="espeak", served_by="offline/phrasebook"
    )
    assert config_of(result) == "offline/phrasebook · - · espeak"
    row = {
        "llm": "openai/gpt-4o-mini",
        "served_by": None,
        "prompt": "minimal@1",
        "tts": "elevenlabs/eleven_flash_v2_5",
    }
    assert config_of(row) == MINI


# --- the Bradley–Terry fit ----------------------------------------------------------------------------
@pytest.mark.slow
def test_three_wins_to_one_is_the_textbook_ratio() -> None:
    """Bare maximum likelihood (no prior): strength ratio 3:1, split evenly around 1000."""
    ratings = rate(
        votes_of((FAST, BIG, "a"), (FAST, BIG, "a"), (BIG, FAST, "b"), (FAST, BIG, "b")), rounds=0, alpha=0
    )
    best, worst = ratings.ratings
    assert (best.config, worst.config) == (FAST, BIG)
    assert best.score == pytest.approx(1000 + elo_gap(3) / 2, abs=1e-6)  # 1095.4
    assert worst.score == pytest.approx(1000 - elo_gap(3) / 2, abs=1e-6)
    assert (best.wins, best.losses, best.ties, best.votes) == (3, 1, 0, 4)
    assert (worst.wins, worst.losses, worst.ties, worst.votes) == (1, 3, 0, 4)


@pytest.mark.slow
def test_the_prior_pulls_three_to_one_to_a_known_ratio() -> None:
    """With choix's alpha, LSR's fixed point for two configurations is (w/2 + α) / (l/2 + α)."""
    ratings = rate(votes_of(*[(FAST, BIG, "a")] * 3, (FAST, BIG, "b")), rounds=0)
    ratio = (1.5 + PRIOR) / (0.5 + PRIOR)
    assert ratings.ratings[0].score - ratings.ratings[1].score == pytest.approx(elo_gap(ratio), abs=1e-6)


def test_ties_count_half_a_win_each_way() -> None:
    """A beats B once and they tie twice: 2 half-wins each way plus the win, i.e. 2:1 for A."""
    ratings = rate(votes_of((FAST, MINI, "a"), (FAST, MINI, "tie"), (MINI, FAST, "tie")), rounds=0, alpha=0)
    assert ratings.ratings[0].config == FAST
    assert ratings.ratings[0].score - ratings.ratings[1].score == pytest.approx(elo_gap(2), abs=1e-6)
    assert (ratings.ratings[0].ties, ratings.ratings[1].ties) == (2, 2)


def test_three_configurations_in_a_cycle_of_strengths() -> None:
    """Strengths 4 : 2 : 1 — FAST beats BIG 2:1, BIG beats MINI 2:1, FAST beats MINI 4:1 — are the exact
    maximum-likelihood fit (each pair's observed share equals the model's), so the scores are known."""
    outcomes = (
        [(FAST, BIG, "a")] * 2 + [(FAST, BIG, "b")]
        + [(BIG, MINI, "a")] * 2 + [(BIG, MINI, "b")]
        + [(FAST, MINI, "a")] * 4 + [(FAST, MINI, "b")]
    )  # fmt: skip
    ratings = rate(votes_of(*outcomes), rounds=0, alpha=0)
    scores = {r.config: r.score for r in ratings.ratings}
    geo = (4 * 2 * 1) ** (1 / 3)
    assert scores[FAST] == pytest.approx(1000 + 400 * math.log10(4 / geo), abs=1e-4)
    assert scores[BIG] == pytest.approx(1000 + 400 * math.log10(2 / geo), abs=1e-4)
    assert scores[MINI] == pytest.approx(1000 + 400 * math.log10(1 / geo), abs=1e-4)
    assert [r.config for r in ratings.ratings] == [FAST, BIG, MINI]
    assert sum(scores.values()) / 3 == pytest.approx(1000, abs=1e-6)  # geometric mean of strengths is 1


@pytest.mark.slow
def test_bootstrap_interval_is_seeded_and_brackets_the_score() -> None:
    votes = votes_of(*[(FAST, BIG, "a")] * 6, *[(FAST, BIG, "b")] * 3, (FAST, BIG, "tie"))
    first = rate(votes, rounds=300)
    again = rate(list(reversed(votes)), rounds=300)  # the order votes come in does not matter
    assert first == again
    for r in first.ratings:
        lo, hi = r.ci95
        assert lo < r.score < hi
    other_seed = rate(votes, rounds=300, seed=7)
    assert other_seed.ratings[0].ci95 != first.ratings[0].ci95


def test_an_unbeaten_configuration_stays_finite() -> None:
    ratings = rate(votes_of(*[(FAST, MINI, "a")] * 5))
    assert all(math.isfinite(x) for r in ratings.ratings for x in (r.score, *r.ci95))
    assert ratings.ratings[0].config == FAST and ratings.ratings[0].score > 1000


def test_no_votes_no_ratings() -> None:
    assert rate([]).to_json() == {"votes": 0, "ratings": []}


def test_intervals_need_a_prior() -> None:
    with pytest.raises(ValueError, match="prior"):
        rate(votes_of((FAST, BIG, "a")), alpha=0)


# --- the vote file -------------------------------------------------------------------------------------
def test_vote_file_round_trip(tmp_path: Path) -> None:
    votes = votes_of((FAST, BIG, "a"), (MINI, FAST, "tie"))
    path = tmp_path / "votes.jsonl"
    assert write_votes(path, votes) == 2
    lines = path.read_text(encoding="utf-8").splitlines()
    assert [sorted(json.loads(line)) for line in lines] == [
        sorted(("id", "ts", "a", "b", "winner", "trigger", "operator"))
    ] * 2
    assert json.loads(lines[1])["winner"] == "tie"
    assert json.loads(lines[0])["trigger"] == "две собаки слева"  # UTF-8, not \\u escapes
    assert "две собаки" in lines[0]
    back = read_votes(path)
    assert [v.to_json() for v in back] == [v.to_json() for v in votes]


@pytest.mark.parametrize(
    ("line", "why"),
    [
        ("{not json", "not JSON"),
        ('["a", "b"]', "JSON object"),
        ('{"id": "x", "ts": 1.0, "a": "p", "b": "q"}', "missing winner"),
        ('{"id": "x", "ts": 1.0, "a": "p", "b": "q", "winner": "A"}', "winner must be one of a, b, tie"),
        ('{"id": "x", "ts": "yesterday", "a": "p", "b": "q", "winner": "a"}', "ts must be a number"),
        ('{"id": "x", "ts": 1.0, "a": "p", "b": "p", "winner": "a"}', "same configuration"),
        ('{"id": "", "ts": 1.0, "a": "p", "b": "q", "winner": "a"}', "id must be"),
        ('{"id": "x", "ts": 1.0, "a": "p", "b": 3, "winner": "a"}', "b must be a string"),
    ],
)
def test_a_bad_line_refuses_the_file_naming_file_and_line(tmp_path: Path, line: str, why: str) -> None:
    path = tmp_path / "pooled.jsonl"
    good = json.dumps(votes_of((FAST, BIG, "a"))[0].to_json())
    path.write_text(f"{good}\n\n{good}\n{line}\n{good}\n", encoding="utf-8")
    with pytest.raises(VoteFileError) as caught:
        read_votes(path)
    assert str(caught.value).startswith(f"{path}:4: ")
    assert why in str(caught.value)
    assert "\n" not in str(caught.value)


def test_missing_vote_file_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(VoteFileError, match="no such file"):
        read_votes(tmp_path / "nope.jsonl")


# --- the store ------------------------------------------------------------------------------------------
def test_votes_are_stored_with_everything_the_arena_knows(tmp_path: Path) -> None:
    vote = make_vote(
        FAST, MINI, "b", trigger="слон", operator="ketut", utterances=("u-a", "u-b"), session_id="s1"
    )
    with Store(tmp_path / "n.db") as store:
        store.record_vote(vote)
        assert store.votes() == [vote]
    conn = sqlite3.connect(tmp_path / "n.db")
    row = conn.execute(
        "SELECT a, b, winner, operator, a_utterance, b_utterance, trigger FROM votes"
    ).fetchone()
    assert row == (FAST, MINI, "b", "ketut", "u-a", "u-b", "слон")


def test_import_merges_and_twice_adds_nothing(tmp_path: Path) -> None:
    local = votes_of((FAST, BIG, "a"))
    other = votes_of((MINI, BIG, "tie"), (FAST, MINI, "b"))
    path = tmp_path / "shuttle2.jsonl"
    write_votes(path, [*other, local[0]])  # the other shuttle already had our vote too
    with Store(tmp_path / "n.db") as store:
        store.record_vote(local[0])
        assert store.import_votes(read_votes(path)) == (2, 1)
        assert store.import_votes(read_votes(path)) == (0, 3)
        assert sorted(v.id for v in store.votes()) == sorted(v.id for v in [*local, *other])
        imported = {v.id: v for v in store.votes()}[other[0].id]
        assert imported.a_utterance is None and imported.winner == "tie"


def test_votes_never_store_a_secret(tmp_path: Path) -> None:
    secret = "gsk_live_THISISASECRETKEY1234567890"
    vote = make_vote(FAST, MINI, "a", trigger=f"key {secret}")
    with Store(tmp_path / "n.db", secrets=[secret]) as store:
        store.record_vote(vote)
        assert store.votes()[0].trigger == "key ***"


def test_quick_ratings_counted_per_configuration(tmp_path: Path) -> None:
    with Store(tmp_path / "n.db") as store:
        store.rate("u1", 1, FAST, "ketut")
        store.rate("u2", 1, FAST)
        store.rate("u3", -1, FAST)
        store.rate("u4", -1, MINI)
        store.rate("u5", 1, MINI)
        store.rate("u5", None, MINI)  # taken back
        store.rate("u3", 1, FAST)  # changed its mind
        assert store.likes() == {FAST: Likes(FAST, 3, 0), MINI: Likes(MINI, 0, 1)}
        assert store.quick_ratings(["u1", "u4", "u5"]) == {"u1": 1, "u4": -1}
        with pytest.raises(NuanuError):
            store.rate("u1", 2, FAST)
    assert Likes(FAST, 3, 1).rate == 0.75 and Likes(FAST, 0, 0).rate is None


# --- the `ratings` command ------------------------------------------------------------------------------
def _db() -> Path:
    from nuanu_tui.core.store_schema import default_db_path

    return default_db_path()


def test_ratings_json_shape_best_first(capsys: pytest.CaptureFixture[str]) -> None:
    from nuanu_tui.cli.entry import main

    with Store(_db()) as store:
        for vote in votes_of(*[(FAST, MINI, "a")] * 3, (FAST, MINI, "b"), (BIG, MINI, "tie")):
            store.record_vote(vote)
        store.rate("u1", 1, MINI)
    assert main(["ratings", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["votes"] == 5
    assert [r["config"] for r in out["ratings"]] == [FAST, BIG, MINI]
    assert [sorted(r) for r in out["ratings"]] == [
        sorted(["config", "score", "ci95", "votes", "wins", "losses", "ties"])
    ] * 3
    fast = out["ratings"][0]
    assert (fast["votes"], fast["wins"], fast["losses"], fast["ties"]) == (4, 3, 1, 0)
    assert fast["ci95"][0] < fast["score"] < fast["ci95"][1]
    scores = [r["score"] for r in out["ratings"]]
    assert scores == sorted(scores, reverse=True)

    assert main(["ratings"]) == 0
    text = capsys.readouterr().out
    assert "5 arena vote(s)" in text and "100% of 1" in text and FAST in text


def test_ratings_export_then_import_elsewhere(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from nuanu_tui.cli.entry import main

    votes = votes_of((FAST, MINI, "a"), (BIG, MINI, "tie"))
    with Store(_db()) as store:
        for vote in votes:
            store.record_vote(vote)
    exported = tmp_path / "out.jsonl"
    assert main(["ratings", "--export", str(exported)]) == 0
    assert f"wrote 2 vote(s) to {exported}" in capsys.readouterr().err
    assert len(exported.read_text(encoding="utf-8").splitlines()) == 2

    monkeypatch.setenv("NUANU_DATA_DIR", str(tmp_path / "shuttle2"))
    assert main(["ratings", "--import", str(exported)]) == 0
    assert f"imported 2 vote(s) from {exported}" in capsys.readouterr().err
    assert main(["ratings", "--import", str(exported), "--json"]) == 0
    captured = capsys.readouterr()
    assert "imported 0 vote(s)" in captured.err and "(2 already stored)" in captured.err
    assert json.loads(captured.out)["votes"] == 2


def test_ratings_import_of_a_bad_file_stores_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from nuanu_tui.cli.entry import main

    path = tmp_path / "bad.jsonl"
    good = [json.dumps(v.to_json()) for v in votes_of((FAST, MINI, "a"), (BIG, MINI, "b"))]
    path.write_text(f'{good[0]}\n{good[1]}\n{{"id": 1}}\n', encoding="utf-8")
    assert main(["ratings", "--import", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "Traceback" not in err
    assert err.startswith(f"nuanu-tui: error: {path}:3: ")
    with Store(_db()) as store:
        assert store.votes() == []

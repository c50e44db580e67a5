"""`nuanu-tui sim --key KEY`: the emulator accepts only that key, so the wrong-key path can be rehearsed.
Other keys get what the providers send: HTTP 401 with an OpenAI-style error body, and ElevenLabs'
invalid_api_key close. Checked with the real SDK clients and with `nuanu-tui say`."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import groq
import openai
import pytest
from elevenlabs import ElevenLabs
from elevenlabs.core.api_error import ApiError

GOOD = "sim-good-key-0123456789"
WRONG = "sim-wrong-key-9876543210"
MSGS = [{"role": "user", "content": "две собаки"}]


@pytest.fixture(scope="module")
def keyed_sim() -> Iterator[dict[str, str]]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "nuanu_tui", "sim", "--port", "0", "--profile", "zero", "--key", GOOD],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    urls = {}
    for _ in range(3):  # the three `export NAME=URL` lines, printed once it listens
        name, _, url = proc.stdout.readline().strip().removeprefix("export ").partition("=")
        urls[name] = url
    try:
        assert set(urls) == {"GROQ_BASE_URL", "OPENAI_BASE_URL", "ELEVENLABS_BASE_URL"}, urls
        yield urls
    finally:
        proc.terminate()
        proc.wait(timeout=10)


async def test_llm_wrong_key_is_the_real_401(keyed_sim: dict[str, str]) -> None:
    for client, error in (
        (groq.AsyncGroq(api_key=WRONG, base_url=keyed_sim["GROQ_BASE_URL"], max_retries=0), groq),
        (openai.AsyncOpenAI(api_key=WRONG, base_url=keyed_sim["OPENAI_BASE_URL"], max_retries=0), openai),
    ):
        with pytest.raises(error.AuthenticationError) as err:  # type: ignore[attr-defined]
            await client.chat.completions.create(model="llama-3.1-8b-instant", messages=MSGS)  # type: ignore[arg-type]
        assert err.value.status_code == 401
        body = err.value.body
        error_obj = body.get("error", body) if isinstance(body, dict) else None
        assert error_obj == {
            "message": "Invalid API Key",
            "type": "invalid_request_error",
            "code": "invalid_api_key",
            "param": None,
        }, body
        await client.close()
    good = groq.AsyncGroq(api_key=GOOD, base_url=keyed_sim["GROQ_BASE_URL"], max_retries=0)
    reply = await good.chat.completions.create(model="llama-3.1-8b-instant", messages=MSGS)  # type: ignore[arg-type]
    assert reply.choices[0].message.content
    await good.close()


def speak(keyed_sim: dict[str, str], key: str) -> bytes:
    client = ElevenLabs(api_key=key, base_url=keyed_sim["GROQ_BASE_URL"])
    client.text_to_speech._ws_base_url = keyed_sim["ELEVENLABS_BASE_URL"]  # type: ignore[attr-defined]
    return b"".join(
        client.text_to_speech.convert_realtime(
            "v", text=iter(["Привет, ", "мир."]), model_id="eleven_flash_v2_5", voice_settings=None
        )
    )


def test_elevenlabs_wrong_key_is_its_authentication_error(keyed_sim: dict[str, str]) -> None:
    with pytest.raises(ApiError) as err:
        speak(keyed_sim, WRONG)
    assert err.value.status_code == 1008
    assert err.value.body == "invalid_api_key"  # the SDK surfaces ElevenLabs' close reason
    assert speak(keyed_sim, GOOD)


@pytest.mark.parametrize(
    ("wrong", "expect"),
    [
        ("GROQ_API_KEY", "Groq rejected the API key"),
        ("ELEVENLABS_API_KEY", "ElevenLabs rejected the API key"),
    ],
)
def test_say_with_a_wrong_key_is_one_line(
    wrong: str, expect: str, keyed_sim: dict[str, str], tmp_path: Path
) -> None:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("NUANU_", "GROQ_", "OPENAI_", "ELEVENLABS_"))
    }
    env.update(keyed_sim, GROQ_API_KEY=GOOD, ELEVENLABS_API_KEY=GOOD, NUANU_DATA_DIR=str(tmp_path))
    env[wrong] = WRONG
    proc = subprocess.run(
        [
            *[sys.executable, "-m", "nuanu_tui", "say", "--no-failover", "две собаки"],
            *["--llm", "groq/llama-3.1-8b-instant", "--tts", "elevenlabs", "--audio", "null"],
        ],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and expect in lines[0] and wrong in lines[0], proc.stderr
    assert WRONG not in proc.stderr and GOOD not in proc.stderr

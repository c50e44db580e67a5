"""What ElevenLabs' refusals mean: an error frame or a socket close code as one NuanuError kind and line.

Kept apart from the socket handling so failover and the fault tests read one table of kinds."""

from __future__ import annotations

from typing import Any

from nuanu_tui.core.errors import NuanuError

MAX_CONTEXTS = 5  # the service's limit of open contexts per multi-stream socket


def error_from_frame(msg: dict[str, Any]) -> NuanuError:
    code = str(msg.get("error") or "")
    text = " ".join(str(msg.get("message") or code or msg).split())[:200]
    low = f"{code} {text}".lower()
    if "quota" in low:
        return NuanuError("tts_quota", f"ElevenLabs: character quota exceeded ({text})")
    if "input_timeout" in low or "have not received a new text input" in low:
        return NuanuError(
            "tts_input_timeout", "ElevenLabs closed the stream: no text within the inactivity timeout"
        )
    if "api key" in low or "api_key" in low or "unauthor" in low or "invalid_key" in low:
        return NuanuError("tts_auth", "ElevenLabs rejected the API key: check ELEVENLABS_API_KEY in .env")
    if "context" in low and ("max" in low or "limit" in low or "too many" in low):
        return NuanuError(
            "tts_context_limit", f"ElevenLabs refused a new context (max {MAX_CONTEXTS}): {text}"
        )
    return NuanuError("tts_error", f"ElevenLabs error: {text}")


def error_from_close(code: int | None, reason: str) -> NuanuError:
    if code == 1008:
        err = error_from_frame({"message": reason or "policy violation"})
        if err.kind == "tts_error":
            return NuanuError(
                "tts_policy", f"ElevenLabs closed the socket (1008): {reason or 'policy violation'}"
            )
        return err
    if code == 1011:
        return NuanuError("tts_server", f"ElevenLabs internal error (1011){': ' + reason if reason else ''}")
    if code in (None, 1006):
        return NuanuError("tts_dropped", "ElevenLabs socket dropped mid-utterance")
    return NuanuError("tts_closed", f"ElevenLabs closed the socket ({code}){': ' + reason if reason else ''}")

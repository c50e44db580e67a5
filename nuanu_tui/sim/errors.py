"""How the emulated providers say no: the OpenAI/Groq JSON error bodies, and the JSON responses that carry
them (ElevenLabs refuses a handshake with one too)."""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web

from nuanu_tui.sim.profiles import Flavor


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        status=status, body=orjson.dumps(body), content_type="application/json", headers=headers
    )


def error_body(message: str, type_: str, code: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": type_, "param": None, "code": code}}


def status_body(status: int, flavor: Flavor, model: str) -> dict[str, Any]:
    """The body a provider sends with `status` (what a status fault answers unless it brings its own)."""
    if status == 401:
        return error_body("Invalid API Key", "invalid_request_error", "invalid_api_key")
    if status == 403:
        return error_body(
            "Access denied. Please check your network settings.", "permission_error", "forbidden"
        )
    if status == 404:
        return model_not_found(model)
    if status == 429:
        return error_body(
            f"Rate limit reached for model `{model}` in organization `org_sim` service tier `on_demand` on tokens "
            "per minute (TPM): Limit 6000, Used 5800, Requested 400. Please try again in 1s.",
            "tokens",
            "rate_limit_exceeded",
        )
    if status == 503:
        return error_body("Service Unavailable", "internal_server_error", "service_unavailable")
    if status >= 500:
        return error_body("Internal Server Error", "internal_server_error", None)
    return error_body(f"HTTP {status}", "invalid_request_error", None)


def model_not_found(model: str) -> dict[str, Any]:
    return {
        "error": {
            "message": f"The model `{model}` does not exist or you do not have access to it.",
            "type": "invalid_request_error",
            "code": "model_not_found",
        }
    }

"""The emulated OpenAI and Groq chat APIs: `/models` and streamed (SSE) or whole chat completions.

Wire details follow docs/protocols.md (§3 Groq, §4 OpenAI). Token times are absolute `loop.time()` deadlines
taken at the request's arrival, so they never drift; each write is charged the link's trip (sim/network.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from typing import Any

import orjson
from aiohttp import web

from nuanu_tui.sim.content import REASONING, tokenize
from nuanu_tui.sim.errors import error_body, json_response, model_not_found
from nuanu_tui.sim.faults import LLMFault, break_stream, fault_response
from nuanu_tui.sim.network import deliver_at, sleep_until
from nuanu_tui.sim.profiles import Flavor
from nuanu_tui.sim.state import EmulatorState

DEFAULT_MODELS: tuple[str, ...] = (
    "llama-3.1-8b-instant",
    "llama-3.3-70b-versatile",
    "gpt-4o-mini",
    "openai/gpt-oss-20b",
    "qwen2.5",
)


def last_user_text(messages: list[Any]) -> str:
    for msg in reversed(messages):
        if isinstance(msg, dict) and msg.get("role") == "user":
            content = msg.get("content")
            if isinstance(content, str):
                return content
            if isinstance(content, list):
                return " ".join(
                    p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text"
                )
    return ""


class ChatAPI:
    """The LLM endpoints of one server: its models, keys, faults, reply function and latency profile."""

    def __init__(self, server: EmulatorState) -> None:
        self.server = server

    def add_routes(self, router: web.UrlDispatcher) -> None:
        router.add_post("/v1/chat/completions", self.chat_openai)
        router.add_post("/openai/v1/chat/completions", self.chat_groq)
        router.add_get("/v1/models", self.models_openai)
        router.add_get("/openai/v1/models", self.models_groq)

    def _check_bearer(self, request: web.Request) -> web.Response | None:
        header = request.headers.get("Authorization", "")
        key = header[7:].strip() if header[:7].lower() == "bearer " else ""
        if not key:
            return json_response(
                401,
                error_body(
                    "You didn't provide an API key. You need to provide your API key in an Authorization header "
                    "using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
                    "invalid_request_error",
                ),
            )
        if self.server.api_keys is not None and key not in self.server.api_keys:
            return json_response(
                401, error_body("Invalid API Key", "invalid_request_error", "invalid_api_key")
            )
        return None

    async def models_openai(self, request: web.Request) -> web.StreamResponse:
        return self._models(request, "openai")

    async def models_groq(self, request: web.Request) -> web.StreamResponse:
        return self._models(request, "groq")

    def _models(self, request: web.Request, flavor: Flavor) -> web.Response:
        denied = self._check_bearer(request)
        if denied is not None:
            return denied
        owner = "Groq" if flavor == "groq" else "system"
        data = [
            {"id": m, "object": "model", "created": 1_700_000_000, "owned_by": owner}
            for m in self.server.models
        ]
        if flavor == "groq":
            for item in data:
                item.update(active=True, context_window=131072)
        return json_response(200, {"object": "list", "data": data})

    async def chat_openai(self, request: web.Request) -> web.StreamResponse:
        return await self._chat(request, "openai")

    async def chat_groq(self, request: web.Request) -> web.StreamResponse:
        return await self._chat(request, "groq")

    def _rate_headers(self, flavor: Flavor) -> dict[str, str]:
        headers = {"x-request-id": f"req_{uuid.uuid4().hex[:26]}"}
        if flavor == "groq":
            headers.update(
                {
                    "x-ratelimit-limit-requests": "14400",
                    "x-ratelimit-limit-tokens": "6000",
                    "x-ratelimit-remaining-requests": "14399",
                    "x-ratelimit-remaining-tokens": "5900",
                    "x-ratelimit-reset-requests": "6s",
                    "x-ratelimit-reset-tokens": "1s",
                }
            )
        return headers

    async def _chat(self, request: web.Request, flavor: Flavor) -> web.StreamResponse:
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        fault = self.server.faults.take_llm()
        denied = self._check_bearer(request)
        if denied is not None:
            return denied
        try:
            body = orjson.loads(await request.read())
        except orjson.JSONDecodeError:
            return json_response(
                400, error_body("We could not parse the JSON body of your request.", "invalid_request_error")
            )
        if not isinstance(body, dict):
            return json_response(
                400, error_body("Request body must be a JSON object.", "invalid_request_error")
            )
        self.server.requests.append(body)
        model = str(body.get("model", ""))
        if fault is not None and fault.kind == "status":
            return fault_response(fault, flavor, model)
        if fault is not None and fault.kind == "hang":
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(fault.hang_s):
                    await self.server.stopping.wait()
            return json_response(504, error_body("Gateway Timeout", "internal_server_error"))
        if model not in self.server.models:
            return json_response(404, model_not_found(model))
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            return json_response(
                400,
                error_body("'messages' must be a non-empty array", "invalid_request_error", "invalid_value"),
            )
        reply = self.server.reply_fn(last_user_text(messages), model)
        tokens = [] if fault is not None and fault.kind == "empty" else tokenize(reply)
        hide = (
            body.get("reasoning_format") == "hidden"
            or "reasoning_effort" in body
            or body.get("include_reasoning") is False
        )
        reasoning = tokenize(REASONING) if "gpt-oss" in model and not hide else []
        # As the providers do: reasoning and content together stop at max_tokens, with finish_reason "length".
        finish = "stop"
        limit = body.get("max_completion_tokens", body.get("max_tokens"))
        if (
            isinstance(limit, int)
            and not isinstance(limit, bool)
            and 0 < limit < len(tokens) + len(reasoning)
        ):
            reasoning = reasoning[:limit]
            tokens = tokens[: limit - len(reasoning)]
            finish = "length"
        prof = self.server.profile.llm_for(model, flavor)
        ttft_at = t0 + prof.ttft_ms / 1000.0
        step = prof.token_interval_ms / 1000.0
        prompt_tokens = sum(len(str(m.get("content", ""))) for m in messages if isinstance(m, dict)) // 4 + 8
        usage = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": len(tokens) + len(reasoning),
            "total_tokens": prompt_tokens + len(tokens) + len(reasoning),
        }
        cid = f"chatcmpl-{uuid.uuid4().hex[:24]}"
        created = int(time.time())
        if not body.get("stream"):
            await sleep_until(ttft_at + max(len(tokens) - 1, 0) * step)
            message: dict[str, Any] = {"role": "assistant", "content": "".join(tokens)}
            if reasoning:
                message["reasoning"] = "".join(reasoning)
            result: dict[str, Any] = {
                "id": cid,
                "object": "chat.completion",
                "created": created,
                "model": model,
                "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": finish}],
                "usage": usage,
                "system_fingerprint": "fp_sim",
            }
            if flavor == "groq":
                result["x_groq"] = {"id": f"req_{uuid.uuid4().hex[:26]}"}
            return json_response(200, result, self._rate_headers(flavor))
        return await self._stream(
            request, flavor, body, model, tokens, reasoning, usage, cid, created, t0, fault, finish
        )

    async def _stream(
        self,
        request: web.Request,
        flavor: Flavor,
        body: dict[str, Any],
        model: str,
        tokens: list[str],
        reasoning: list[str],
        usage: dict[str, Any],
        cid: str,
        created: int,
        t0: float,
        fault: LLMFault | None,
        finish: str = "stop",
    ) -> web.StreamResponse:
        prof = self.server.profile.llm_for(model, flavor)
        ttft_at = t0 + prof.ttft_ms / 1000.0
        step = prof.token_interval_ms / 1000.0
        opts = body.get("stream_options")
        include_usage = isinstance(opts, dict) and bool(opts.get("include_usage"))
        req_id = f"req_{uuid.uuid4().hex[:26]}"
        head = {"id": cid, "object": "chat.completion.chunk", "created": created, "model": model,
                "system_fingerprint": "fp_sim"}  # fmt: skip
        prefix = b"data: " + orjson.dumps(head)[:-1] + b',"choices":[{"index":0,"delta":{'
        suffix = (
            b'},"logprobs":null,"finish_reason":null}]'
            + (b',"usage":null' if include_usage else b"")
            + b"}\n\n"
        )

        def chunk(extra: dict[str, Any], delta: dict[str, Any], finish: str | None) -> bytes:
            obj: dict[str, Any] = {
                **head,
                "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
            }
            if include_usage:
                obj["usage"] = None
            obj.update(extra)
            return b"data: " + orjson.dumps(obj) + b"\n\n"

        # reasoning (if any) ends right before the first content token; headers go out with the first event
        first_at = ttft_at - len(reasoning) * step
        await sleep_until(deliver_at(request, first_at))
        resp = web.StreamResponse(
            status=200,
            headers={
                "Content-Type": "text/event-stream",
                "Cache-Control": "no-cache",
                **self._rate_headers(flavor),
            },
        )
        try:
            await resp.prepare(request)
            first_extra = {"x_groq": {"id": req_id}} if flavor == "groq" else {}
            await resp.write(chunk(first_extra, {"role": "assistant", "content": ""}, None))
            for i, tok in enumerate(reasoning):
                await sleep_until(deliver_at(request, first_at + i * step))
                await resp.write(prefix + b'"reasoning":' + orjson.dumps(tok) + suffix)
            broken_after = (
                fault.after_tokens
                if fault is not None and fault.kind in ("drop", "malformed", "error_event")
                else -1
            )
            for i, tok in enumerate(tokens):
                if i == broken_after:
                    break
                await sleep_until(deliver_at(request, ttft_at + i * step))
                await resp.write(prefix + b'"content":' + orjson.dumps(tok) + suffix)
            if fault is not None and broken_after >= 0:
                return await break_stream(request, resp, fault)
            done_at = asyncio.get_running_loop().time()
            final_extra: dict[str, Any] = {}
            if flavor == "groq":
                completion_time = round(max(done_at - ttft_at, 0.0) + step, 4)
                prompt_time = round(prof.ttft_ms / 2000.0, 4)
                queue_time = round(prof.ttft_ms / 4000.0, 4)
                final_extra["x_groq"] = {
                    "id": req_id,
                    "usage": {
                        "queue_time": queue_time,
                        "prompt_time": prompt_time,
                        "completion_time": completion_time,
                        "total_time": round(prompt_time + completion_time, 4),
                        **usage,
                    },
                }
            await resp.write(chunk(final_extra, {}, finish))
            if include_usage:
                obj = {**head, "choices": [], "usage": usage}
                await resp.write(b"data: " + orjson.dumps(obj) + b"\n\n")
            await resp.write(b"data: [DONE]\n\n")
            await resp.write_eof()
        except ConnectionError:
            pass  # the client went away mid-stream: nothing left to tell it
        return resp

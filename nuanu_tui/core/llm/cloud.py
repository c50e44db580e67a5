"""Cloud and local LLMs over the official SDKs: `groq.AsyncGroq` for groq/, `openai.AsyncOpenAI` for the rest.

The streaming call goes through the SDKs' `with_streaming_response` mode and reads raw SSE lines: that keeps
the SDKs' auth, base-URL and error handling but skips per-chunk model parsing on the latency path.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from typing import Any

import groq
import httpx
import orjson

from nuanu_tui.core.config import LLMSpec, Settings
from nuanu_tui.core.errors import NuanuError
from nuanu_tui.core.llm.base import LLMRequest, LLMStats
from nuanu_tui.core.llm.prompts import build_messages
from nuanu_tui.core.redact import scrub

KEEPALIVE_EXPIRY_S = 600.0  # httpx's default (5 s) would drop the warm connection between utterances
_SSE = {"content-type": "text/event-stream"}
NAMES = {"groq": "Groq", "openai": "OpenAI", "ollama": "Ollama", "local": "local LLM"}


def _reasoning_args(provider: str, model: str) -> dict[str, Any]:
    """Ask reasoning models for little or hidden reasoning so content (and TTFT) comes early."""
    m = model.lower()
    if provider == "groq" and ("gpt-oss" in m or "qwen3" in m):
        return {"reasoning_format": "hidden", "reasoning_effort": "low" if "gpt-oss" in m else "none"}
    if provider == "openai" and (m.startswith(("o1", "o3", "o4", "gpt-5"))):
        return {"reasoning_effort": "minimal" if m.startswith("gpt-5") else "low"}
    return {}


def _openai_sdk() -> tuple[Any, Any]:
    """The OpenAI SDK (and its httpx2), imported on first use: it is ~23 MB of memory that an engine with
    only a Groq key never needs (Groq's SDK is ~4 MB)."""
    import httpx2
    import openai

    return httpx2, openai


class CloudLLM:
    """One provider/model pair on a long-lived, warmed HTTP connection."""

    offline = False

    def __init__(self, spec: LLMSpec, settings: Settings) -> None:
        self.spec = str(spec)
        self.provider = spec.provider
        self.model = spec.model
        self.name = NAMES.get(spec.provider, spec.provider)
        self.warm_state = "cold"
        self.last_error: str | None = None
        self._known_models: list[str] | None = None
        self._code_warm = False
        self._warm_timeout = (
            settings.connect_timeout
        )  # a hung host must fail start-up within the connect timeout
        timeout_kw = {"connect": settings.connect_timeout, "read": settings.read_timeout}
        if spec.provider == "groq":
            key = settings.require_key("groq")
            self._http: Any = httpx.AsyncClient(
                timeout=httpx.Timeout(settings.read_timeout, **timeout_kw),
                limits=httpx.Limits(max_connections=20, keepalive_expiry=KEEPALIVE_EXPIRY_S),
            )
            self._client: Any = groq.AsyncGroq(
                api_key=key, base_url=settings.groq_base_url, max_retries=0, http_client=self._http
            )
            self.base_url = str(self._client.base_url)
        else:
            if spec.provider == "openai":
                key = settings.require_key("openai")
                base = settings.openai_base_url
            else:
                key = settings.key("openai") if spec.provider == "local" else None
                key = key or "not-needed"
                base = settings.ollama_base_url if spec.provider == "ollama" else settings.local_base_url
            httpx2, openai = _openai_sdk()
            self._http = httpx2.AsyncClient(
                timeout=httpx2.Timeout(settings.read_timeout, **timeout_kw),
                limits=httpx2.Limits(max_connections=20, keepalive_expiry=KEEPALIVE_EXPIRY_S),
            )
            self._client = openai.AsyncOpenAI(
                api_key=key, base_url=base, max_retries=0, http_client=self._http
            )
            self.base_url = str(self._client.base_url)
        self._extra = _reasoning_args(spec.provider, spec.model)
        self._secret = key
        self.fast_path = settings.llm_fast_path
        base = str(self._client.base_url).rstrip("/")
        self._chat_url = base + (
            "/openai/v1/chat/completions" if spec.provider == "groq" else "/chat/completions"
        )
        headers = {**self._client.default_headers, **self._client.auth_headers}
        self._headers = {k: v for k, v in headers.items() if isinstance(v, str)}

    async def warm(self) -> None:
        """GET /models opens (and keeps) the connection; the list also feeds the model picker."""
        await self.warm_code()
        try:
            self._known_models = await self._fetch_models()
            self.warm_state = "warm"
            self.last_error = None
        except NuanuError as exc:
            self.warm_state = "cold"
            self.last_error = exc.message
            raise

    async def warm_code(self) -> None:
        """The local half of warm-up (no network): worth waiting for even when the host may be dead."""
        if not self._code_warm:
            self._code_warm = True
            await self._warm_code_path()

    async def list_models(self) -> list[str]:
        self._known_models = await self._fetch_models()
        return self._known_models

    async def _fetch_models(self) -> list[str]:
        try:
            page = await self._client.models.list(timeout=self._warm_timeout)
            return sorted(m.id for m in page.data)
        except Exception as exc:
            raise self._map_error(exc) from None

    def _kwargs(self, request: LLMRequest) -> dict[str, Any]:
        kwargs: dict[str, Any] = {
            "model": self.model,
            "messages": build_messages(
                request.trigger, request.lang, request.recent, request.interjection, request.system
            ),
            "stream": True,
            "max_tokens": request.max_tokens,
            "temperature": request.temperature,
        }
        if request.seed is not None:
            kwargs["seed"] = request.seed
        if self._extra:
            kwargs["extra_body"] = self._extra
        return kwargs

    async def _warm_code_path(self) -> None:
        """Run one streaming call through an offline twin of the client (same SDK, mock transport).

        The SDKs build and cache their request transforms on first use (15-80 ms here); paying that at
        start-up keeps the first utterance as fast as a warm one, without spending tokens on the service.
        """
        sse = b'data: {"choices":[{"index":0,"delta":{"content":"ok"}}]}\n\ndata: [DONE]\n\n'
        if self.provider == "groq":
            transport: Any = httpx.MockTransport(lambda _req: httpx.Response(200, content=sse, headers=_SSE))
            http: Any = httpx.AsyncClient(transport=transport)
            twin: Any = groq.AsyncGroq(
                api_key="warm", base_url="http://warm.invalid", max_retries=0, http_client=http
            )
        else:
            httpx2, openai = _openai_sdk()
            transport = httpx2.MockTransport(lambda _req: httpx2.Response(200, content=sse, headers=_SSE))
            http = httpx2.AsyncClient(transport=transport)
            twin = openai.AsyncOpenAI(
                api_key="warm", base_url="http://warm.invalid/v1", max_retries=0, http_client=http
            )
        try:
            async with twin.chat.completions.with_streaming_response.create(
                **self._kwargs(LLMRequest(trigger="warm-up"))
            ) as resp:
                async for _ in resp.iter_lines():
                    pass
        except Exception:
            pass  # only a lost optimisation
        finally:
            await http.aclose()

    @contextlib.asynccontextmanager
    async def _sdk_lines(self, request: LLMRequest) -> AsyncIterator[AsyncIterator[str]]:
        """The SDK's own streaming-response call (raw SSE lines, no per-chunk models)."""
        async with self._client.chat.completions.with_streaming_response.create(
            **self._kwargs(request)
        ) as resp:
            yield resp.iter_lines()

    @contextlib.asynccontextmanager
    async def _fast_lines(self, request: LLMRequest) -> AsyncIterator[AsyncIterator[str]]:
        """The same request on the SDK's own HTTP client, URL and headers, with a body we serialise ourselves.

        The SDK spends 1.5-3 ms per call building and validating the request before it is on the wire; the
        hot path skips that. Configuration, auth, model listing and warm-up stay with the SDK.
        """
        kwargs = self._kwargs(request)
        payload = {**kwargs, **kwargs.pop("extra_body", {})}
        payload.pop("extra_body", None)
        async with self._http.stream(
            "POST", self._chat_url, content=orjson.dumps(payload), headers=self._headers
        ) as resp:
            if resp.status_code >= 400:
                await resp.aread()
                raise self._status_error(
                    resp.status_code, _json_message(resp.content), resp.headers.get("retry-after")
                )
            yield resp.aiter_lines()

    async def stream(self, request: LLMRequest, stats: LLMStats) -> AsyncIterator[str]:
        lines_cm = self._fast_lines(request) if self.fast_path else self._sdk_lines(request)
        try:
            async with lines_cm as lines:
                self.warm_state = "warm"
                event = ""
                async for line in lines:
                    if not line:
                        event = ""
                        continue
                    if line.startswith("event:"):
                        event = line[6:].strip()
                        continue
                    if not line.startswith("data:"):
                        continue
                    data = line[5:].strip()
                    if data == "[DONE]":
                        break
                    chunk = self._parse(data, event)
                    choices = chunk.get("choices")
                    if choices:
                        choice = choices[0]
                        content = (choice.get("delta") or {}).get("content")
                        if content:
                            stats.tokens += 1
                            yield content
                        if choice.get("finish_reason"):  # "length": the answer hit max_tokens (the rubric)
                            stats.finish_reason = str(choice["finish_reason"])
                    xg = chunk.get("x_groq")
                    if xg and xg.get("usage"):
                        stats.provider_timings = dict(xg["usage"])
                    elif chunk.get("usage") and not stats.provider_timings:
                        stats.provider_timings = dict(chunk["usage"])
                # Read the response to its end (right after [DONE]): a response left half-read closes its
                # connection, and the next utterance would pay TCP + TLS again (2 RTTs on a real link).
                async for _rest in lines:
                    pass
        except NuanuError as err:
            if err.kind == "llm_model_not_found" and not self._known_models:
                await self.refresh_models_quietly()
                raise NuanuError(err.kind, self._model_not_found()) from None
            raise
        except Exception as exc:
            err = self._map_error(exc)
            if err.kind == "llm_model_not_found" and not self._known_models:
                await self.refresh_models_quietly()
                err = NuanuError(err.kind, self._model_not_found())
            raise err from None

    def _parse(self, data: str, event: str) -> dict[str, Any]:
        try:
            chunk = orjson.loads(data)
        except orjson.JSONDecodeError:
            raise NuanuError(
                "llm_malformed", f"{self.name} sent a malformed stream line: {data[:60]!r}"
            ) from None
        if not isinstance(chunk, dict):
            raise NuanuError("llm_malformed", f"{self.name} sent a malformed stream chunk: {data[:60]!r}")
        if event == "error" or chunk.get("error"):
            err = chunk.get("error")
            msg = err.get("message") if isinstance(err, dict) else err
            text = scrub(str(msg or data[:80]), [self._secret])
            raise NuanuError("llm_stream_error", f"{self.name} stopped the answer: {text}")
        return chunk

    def _status_error(self, status: int, body_msg: str, retry: str | None) -> NuanuError:
        body_msg = scrub(body_msg, [self._secret]) or ""
        if status == 401:
            var = "GROQ_API_KEY" if self.provider == "groq" else "OPENAI_API_KEY"
            return NuanuError("llm_auth", f"{self.name} rejected the API key (401): check {var} in .env")
        if status == 403:
            return NuanuError("llm_forbidden", f"{self.name} refused access (403): {body_msg}")
        if status == 404:
            return NuanuError("llm_model_not_found", self._model_not_found())
        if status == 429:
            hint = f", retry after {retry} s" if retry else ""
            return NuanuError(
                "llm_rate_limit",
                f"{self.name} rate limit (429){hint}: {body_msg}",
                retry_after=_seconds(retry),
            )
        if status >= 500:
            return NuanuError("llm_server", f"{self.name} server error ({status}): {body_msg}")
        return NuanuError("llm_http", f"{self.name} HTTP {status}: {body_msg}")

    def _map_error(self, exc: BaseException) -> NuanuError:
        """Turn SDK and transport exceptions into one-line operator messages with a stable kind."""
        name = type(exc).__name__
        status = getattr(exc, "status_code", None)
        who = f"{self.name} ({self.base_url})"
        if isinstance(status, int):
            return self._status_error(status, _body_message(exc), _header(exc, "retry-after"))
        root = _root_cause(exc)
        text = str(root) or type(root).__name__
        if "Timeout" in name or isinstance(exc, asyncio.TimeoutError):
            connect = "Connect" in name or "Connect" in type(root).__name__ or "connect" in text.lower()
            return NuanuError("llm_timeout", f"{who} timed out ({'connect' if connect else 'read'})")
        if isinstance(root, socket.gaierror) or "Name or service not known" in text or "getaddrinfo" in text:
            return NuanuError("llm_dns", f"{who}: host name not found (DNS)")
        if isinstance(root, ConnectionRefusedError) or "refused" in text.lower():
            return NuanuError("llm_connection", f"{who}: connection refused")
        if (
            "RemoteProtocol" in name
            or "ReadError" in name
            or "incomplete" in text.lower()
            or "peer closed" in text.lower()
        ):
            return NuanuError("llm_dropped", f"{self.name}: stream dropped mid-answer")
        if "Connect" in name or "Connection" in name or isinstance(exc, OSError):
            return NuanuError("llm_connection", f"{who}: connection failed: {text}")
        return NuanuError("llm_error", scrub(f"{self.name}: {name}: {exc}", [self._secret]) or name)

    def _model_not_found(self) -> str:
        known = self._known_models
        names = ", ".join(known[:12]) + (" …" if known and len(known) > 12 else "") if known else "unknown"
        return (
            f"{self.name} has no model {self.model!r} (unknown or retired); available: {names}"
            f" — run `nuanu-tui models {self.provider}`"
        )

    async def refresh_models_quietly(self) -> None:
        """Best effort, so the 404 message can name what is available."""
        with contextlib.suppress(NuanuError, TimeoutError):
            async with asyncio.timeout(3.0):
                self._known_models = await self._fetch_models()

    async def aclose(self) -> None:
        try:
            await self._client.close()
        finally:
            await self._http.aclose()


def _root_cause(exc: BaseException) -> BaseException:
    seen = exc
    while seen.__cause__ is not None or seen.__context__ is not None:
        nxt = seen.__cause__ or seen.__context__
        if nxt is None or nxt is seen:
            break
        seen = nxt
    return seen


def _header(exc: BaseException, name: str) -> str | None:
    response = getattr(exc, "response", None)
    try:
        return response.headers.get(name) if response is not None else None
    except Exception:
        return None


def _seconds(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _one_line(text: object) -> str:
    return " ".join(str(text).split())[:200]


def _error_text(body: object, fallback: object) -> str:
    """The `error.message` of an OpenAI-style error body, else `fallback`, on one line."""
    err = body.get("error", body) if isinstance(body, dict) else None
    if isinstance(err, dict) and err.get("message"):
        return _one_line(err["message"])
    return _one_line(fallback)


def _json_message(content: bytes) -> str:
    try:
        body = orjson.loads(content)
    except orjson.JSONDecodeError:
        return _one_line(content.decode("utf-8", "replace"))
    return _error_text(body, body.get("error", body) if isinstance(body, dict) else body)


def _body_message(exc: BaseException) -> str:
    return _error_text(getattr(exc, "body", None), getattr(exc, "message", None) or exc)

"""Settings from the environment and `.env` (real environment variables win), plus spec parsing."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from nuanu_tui.core.cameras import camera_mountings
from nuanu_tui.core.errors import ConfigError, NuanuError

LLM_PROVIDERS = ("groq", "openai", "ollama", "local", "offline")
TTS_PROVIDERS = ("elevenlabs", "espeak")
LLM_PRESETS = (
    "groq/llama-3.3-70b-versatile",
    "groq/llama-3.1-8b-instant",
    "openai/gpt-4o-mini",
    "groq/openai/gpt-oss-20b",
    "offline/phrasebook",
)
OUTPUT_FORMATS = ("pcm_24000", "pcm_22050", "pcm_16000", "mp3_44100_128", "mp3_22050_32")
FAILOVER_OFF = ("off", "none", "false", "0")
PROMPT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")  # a prompt file's name (core/llm/prompt_files)
KEY_VARS = {"groq": "GROQ_API_KEY", "openai": "OPENAI_API_KEY", "elevenlabs": "ELEVENLABS_API_KEY"}


ENV_FILE = ".env"
LLM_URL_SCHEMES = ("http", "https")
TTS_URL_SCHEMES = ("ws", "wss", "http", "https")


def _env(*names: str) -> AliasChoices:
    return AliasChoices(*names)


class Settings(BaseSettings):
    """Every knob nuanu-tui reads. Names of the variables are part of the interface (design.md)."""

    # An empty value (`GROQ_BASE_URL=` in a copied .env.example) means "not set": the default applies.
    model_config = SettingsConfigDict(
        env_file=ENV_FILE, env_file_encoding="utf-8", extra="ignore", env_ignore_empty=True
    )

    groq_api_key: SecretStr | None = Field(None, validation_alias=_env("GROQ_API_KEY"))
    openai_api_key: SecretStr | None = Field(None, validation_alias=_env("OPENAI_API_KEY"))
    elevenlabs_api_key: SecretStr | None = Field(None, validation_alias=_env("ELEVENLABS_API_KEY"))

    groq_base_url: str | None = Field(None, validation_alias=_env("GROQ_BASE_URL"))
    openai_base_url: str | None = Field(None, validation_alias=_env("OPENAI_BASE_URL"))
    ollama_base_url: str = Field("http://127.0.0.1:11434/v1", validation_alias=_env("OLLAMA_BASE_URL"))
    local_base_url: str = Field("http://127.0.0.1:8080/v1", validation_alias=_env("LOCAL_BASE_URL"))
    elevenlabs_base_url: str = Field("wss://api.elevenlabs.io", validation_alias=_env("ELEVENLABS_BASE_URL"))
    elevenlabs_voice_id: str = Field("y2Y5MeVPm6ZQXK64WUui", validation_alias=_env("ELEVENLABS_VOICE_ID"))
    elevenlabs_model_id: str = Field("eleven_flash_v2_5", validation_alias=_env("ELEVENLABS_MODEL_ID"))

    llm: str | None = Field(None, validation_alias=_env("NUANU_LLM"))
    tts: str | None = Field(None, validation_alias=_env("NUANU_TTS"))
    audio: str = Field("device", validation_alias=_env("NUANU_AUDIO"))
    # While the speaker is gone: hold remarks until it is back (dropping those older than audio_stale_s),
    # or keep generating them into a silent stand-in, marked not heard.
    audio_lost: Literal["hold", "keep"] = Field("hold", validation_alias=_env("NUANU_AUDIO_LOST"))
    audio_stale_s: float = Field(10.0, gt=0, le=600, validation_alias=_env("NUANU_AUDIO_STALE_S"))
    lang: Literal["ru", "en"] = Field("ru", validation_alias=_env("NUANU_LANG"))
    groq_model: str = Field("llama-3.1-8b-instant", validation_alias=_env("NUANU_GROQ_MODEL"))
    openai_model: str = Field("gpt-4o-mini", validation_alias=_env("NUANU_OPENAI_MODEL"))
    max_tokens: int = Field(80, ge=8, le=1024, validation_alias=_env("NUANU_MAX_TOKENS"))
    temperature: float = Field(0.9, ge=0.0, le=2.0, validation_alias=_env("NUANU_TEMPERATURE"))
    output_format: str = Field("pcm_24000", validation_alias=_env("NUANU_OUTPUT_FORMAT"))
    ws_mode: Literal["multi", "single"] = Field("multi", validation_alias=_env("NUANU_WS_MODE"))
    inactivity_timeout: int = Field(180, ge=5, le=180, validation_alias=_env("NUANU_INACTIVITY_TIMEOUT"))
    keepalive_s: float = Field(10.0, gt=0, le=15.0, validation_alias=_env("NUANU_KEEPALIVE_S"))
    connect_timeout: float = Field(5.0, gt=0, le=30.0, validation_alias=_env("NUANU_CONNECT_TIMEOUT"))
    read_timeout: float = Field(20.0, gt=0, validation_alias=_env("NUANU_READ_TIMEOUT"))
    first_flush_words: int = Field(3, ge=1, le=12, validation_alias=_env("NUANU_FIRST_FLUSH_WORDS"))
    espeak_voice: str | None = Field(None, validation_alias=_env("NUANU_ESPEAK_VOICE"))
    espeak_rate: int = Field(175, ge=80, le=450, validation_alias=_env("NUANU_ESPEAK_RATE"))
    interrupt: bool = Field(False, validation_alias=_env("NUANU_INTERRUPT"))
    data_dir: Path | None = Field(None, validation_alias=_env("NUANU_DATA_DIR"))
    failover: str = Field("auto", validation_alias=_env("NUANU_FAILOVER"))
    ttft_budget_ms: float = Field(1500.0, gt=0, validation_alias=_env("NUANU_TTFT_BUDGET_MS"))
    hedge_ms: float | None = Field(None, gt=0, validation_alias=_env("NUANU_HEDGE_MS"))
    tts_fallback: bool = Field(True, validation_alias=_env("NUANU_TTS_FALLBACK"))
    llm_fast_path: bool = Field(True, validation_alias=_env("NUANU_LLM_FAST_PATH"))
    max_chars: int = Field(300, ge=20, le=2000, validation_alias=_env("NUANU_MAX_CHARS"))
    blocklist: str | None = Field(
        None, validation_alias=_env("NUANU_BLOCKLIST")
    )  # extra files, comma-separated
    output_filter: bool = Field(True, validation_alias=_env("NUANU_OUTPUT_FILTER"))
    # The emulated link under --demo: loopback|wifi|lte|bad or rtt=MS,jitter=MS,loss=PCT (core/netprofile.py).
    sim_net: str = Field("loopback", validation_alias=_env("NUANU_SIM_NET"))
    # Ride mode: the director's rules (live-editable in the ride view) and the event feeds.
    ride_stale_ms: float = Field(1500.0, ge=0, validation_alias=_env("NUANU_STALE_MS"))
    ride_min_confidence: float = Field(0.5, ge=0, le=1, validation_alias=_env("NUANU_MIN_CONFIDENCE"))
    ride_dedup_s: float = Field(20.0, ge=0, validation_alias=_env("NUANU_DEDUP_S"))
    ride_cooldown_s: float = Field(6.0, ge=0, validation_alias=_env("NUANU_COOLDOWN_S"))
    ride_max_per_min: int = Field(6, ge=1, validation_alias=_env("NUANU_MAX_PER_MIN"))
    events_host: str = Field("127.0.0.1", validation_alias=_env("NUANU_EVENTS_HOST"))
    events_token: SecretStr | None = Field(None, validation_alias=_env("NUANU_EVENTS_TOKEN"))
    events_queue: int = Field(256, ge=1, le=100000, validation_alias=_env("NUANU_EVENTS_QUEUE"))
    ride_udp_port: int = Field(47800, ge=0, le=65535, validation_alias=_env("NUANU_RIDE_UDP_PORT"))
    ride_ws_port: int = Field(47801, ge=0, le=65535, validation_alias=_env("NUANU_RIDE_WS_PORT"))
    # Camera frames: names and mountings ("front=front,back=rear"), the tracker's knobs, the MQTT feed.
    cameras: str = Field("", validation_alias=_env("NUANU_CAMERAS"))
    track_hits: int = Field(3, ge=1, le=100, validation_alias=_env("NUANU_TRACK_HITS"))
    track_window_ms: float = Field(300.0, gt=0, le=60_000, validation_alias=_env("NUANU_TRACK_WINDOW_MS"))
    track_lost_s: float = Field(1.0, gt=0, le=600, validation_alias=_env("NUANU_TRACK_LOST_S"))
    track_iou: float = Field(0.3, gt=0, le=1, validation_alias=_env("NUANU_TRACK_IOU"))
    mqtt: str | None = Field(None, validation_alias=_env("NUANU_MQTT"))  # the default for `ride --mqtt`
    mqtt_password: SecretStr | None = Field(None, validation_alias=_env("NUANU_MQTT_PASSWORD"))

    instant: bool = Field(True, validation_alias=_env("NUANU_INSTANT"))  # interjections before the remark
    # The character's prompt file by name (assets/prompts or DATA_DIR/prompts); None: "default" for the lang.
    prompt: str | None = Field(None, validation_alias=_env("NUANU_PROMPT"))
    # Who votes in the arena and rates remarks (stored with each vote, so pooled votes say whose they were).
    operator: str = Field("", validation_alias=_env("NUANU_OPERATOR"))
    # The rubric on every remark (core/quality.py): where a remark counts as too long, too short, not
    # Russian, or a repeat. README "Quality" says what each threshold means.
    quality_max_words: int = Field(35, ge=1, le=500, validation_alias=_env("NUANU_QUALITY_MAX_WORDS"))
    quality_min_words: int = Field(4, ge=0, le=100, validation_alias=_env("NUANU_QUALITY_MIN_WORDS"))
    quality_max_seconds: float = Field(14.0, gt=0, le=600, validation_alias=_env("NUANU_QUALITY_MAX_SECONDS"))
    quality_min_seconds: float = Field(1.0, ge=0, le=60, validation_alias=_env("NUANU_QUALITY_MIN_SECONDS"))
    quality_latin_share: float = Field(0.15, ge=0, le=1, validation_alias=_env("NUANU_QUALITY_LATIN_SHARE"))
    quality_repeat: float = Field(0.5, gt=0, le=1, validation_alias=_env("NUANU_QUALITY_REPEAT"))
    # Latin-script names a Russian remark may use, beyond the shipped list (comma-separated).
    quality_latin_ok: str | None = Field(None, validation_alias=_env("NUANU_QUALITY_LATIN_OK"))
    net_probe_s: float = Field(5.0, ge=0.5, le=600.0, validation_alias=_env("NUANU_NET_PROBE_S"))
    net_warn_ms: float = Field(200.0, gt=0, validation_alias=_env("NUANU_NET_WARN_MS"))

    # --- validation: every value is checked once, here, so a bad one is one line at start-up ---------
    @field_validator("groq_api_key", "openai_api_key", "elevenlabs_api_key", "events_token", "mqtt_password")
    @classmethod
    def _key_is_a_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not _is_token(value.get_secret_value().strip(), allow_empty=True):
            raise ValueError("printable characters without spaces (the key as the provider shows it)")
        return value

    @field_validator("groq_base_url", "openai_base_url", "ollama_base_url", "local_base_url")
    @classmethod
    def _llm_url(cls, value: str | None) -> str | None:
        return _check_url(value, LLM_URL_SCHEMES)

    @field_validator("elevenlabs_base_url")
    @classmethod
    def _tts_url(cls, value: str) -> str:
        return _check_url(value, TTS_URL_SCHEMES) or value

    @field_validator(
        "elevenlabs_voice_id",
        "elevenlabs_model_id",
        "groq_model",
        "openai_model",
        "espeak_voice",
        "events_host",
    )
    @classmethod
    def _identifier(cls, value: str | None) -> str | None:
        if value is not None and not _is_token(value):
            raise ValueError("a name without spaces or control characters")
        return value

    @field_validator("prompt")
    @classmethod
    def _prompt_name(cls, value: str | None) -> str | None:
        if value is not None and not PROMPT_NAME.fullmatch(value):
            raise ValueError("a prompt name: letters, digits, '-', '_' or '.' (see `nuanu-tui prompts`)")
        return value

    @field_validator("operator")
    @classmethod
    def _operator_name(cls, value: str) -> str:
        if len(value) > 40 or any(not ch.isprintable() for ch in value):
            raise ValueError("a name of at most 40 printable characters, e.g. Ketut")
        return value.strip()

    @field_validator("quality_latin_ok")
    @classmethod
    def _latin_names(cls, value: str | None) -> str | None:
        if value is not None and not all(
            re.fullmatch(r"[A-Za-z][A-Za-z0-9'-]*", name.strip()) for name in value.split(",") if name.strip()
        ):
            raise ValueError("comma-separated Latin-script names, e.g. Canggu,Bintang")
        return value

    @field_validator("llm")
    @classmethod
    def _llm_spec(cls, value: str | None) -> str | None:
        if value is not None:
            _spec_or_value_error(value)
        return value

    @field_validator("tts")
    @classmethod
    def _tts_spec(cls, value: str | None) -> str | None:
        if value is not None and value.split("/")[0] not in TTS_PROVIDERS:
            raise ValueError(f"{' or '.join(TTS_PROVIDERS)}, optionally /MODEL or /VOICE")
        return value

    @field_validator("audio")
    @classmethod
    def _audio_spec(cls, value: str) -> str:
        value = value.strip()
        named = (value.startswith("wav:") and len(value) > 4) or (
            value.startswith("device:") and len(value) > 7
        )
        if not (value in ("device", "null") or named):
            raise ValueError("device, null or wav:PATH")
        return value

    @field_validator("output_format")
    @classmethod
    def _output_format(cls, value: str) -> str:
        if value not in OUTPUT_FORMATS:
            raise ValueError(f"one of {', '.join(OUTPUT_FORMATS)}")
        return value

    @field_validator("failover")
    @classmethod
    def _failover(cls, value: str) -> str:
        if value.strip().lower() in ("auto", *FAILOVER_OFF):
            return value
        specs = [s.strip() for s in value.split(",") if s.strip()]
        if not specs:
            raise ValueError("auto, off, or comma-separated LLM specs")
        for spec in specs:
            _spec_or_value_error(spec, prefix="auto, off, or comma-separated LLM specs; ")
        return value

    @field_validator("sim_net")
    @classmethod
    def _sim_net(cls, value: str) -> str:
        from nuanu_tui.core.netprofile import parse_net

        try:
            parse_net(value)
        except ValueError as exc:
            raise ValueError(str(exc).split(": use ", 1)[-1]) from None
        return value

    @field_validator("cameras")
    @classmethod
    def _cameras(cls, value: str) -> str:
        camera_mountings(value)
        return value

    @field_validator("mqtt")
    @classmethod
    def _mqtt(cls, value: str | None) -> str | None:
        from nuanu_tui.core.mqtt_url import parse_mqtt_url

        if value is not None:
            try:
                target = parse_mqtt_url(value)
            except NuanuError as exc:
                raise ValueError(exc.message.replace("--mqtt ", "")) from None
            if target.password:
                raise ValueError("a URL without a password (put it in NUANU_MQTT_PASSWORD)")
        return value

    @field_validator("data_dir")
    @classmethod
    def _data_dir(cls, value: Path | None) -> Path | None:
        if value is not None and value.expanduser().exists() and not value.expanduser().is_dir():
            raise ValueError("a directory (this path is a file)")
        return value

    @field_validator("blocklist")
    @classmethod
    def _blocklist(cls, value: str | None) -> str | None:
        if value is not None:
            missing = [p.strip() for p in value.split(",") if p.strip() and not Path(p.strip()).is_file()]
            if missing:
                raise ValueError(f"comma-separated existing files (not found: {', '.join(missing)})")
        return value

    def key(self, provider: str) -> str | None:
        secret = {
            "groq": self.groq_api_key,
            "openai": self.openai_api_key,
            "elevenlabs": self.elevenlabs_api_key,
        }.get(provider)
        value = secret.get_secret_value().strip() if secret else ""
        return value or None

    def require_key(self, provider: str) -> str:
        value = self.key(provider)
        if value is None:
            var = KEY_VARS[provider]
            raise ConfigError(
                f"{var} is not set: put {var}=... in the .env file {Path(ENV_FILE).resolve()}"
                " (see .env.example) or the environment"
            )
        return value

    def secrets(self) -> list[str]:
        """Every configured key (and the events token, the MQTT password), for scrubbing outputs."""
        token = self.events_token.get_secret_value().strip() if self.events_token else ""
        mqtt = self.mqtt_password.get_secret_value().strip() if self.mqtt_password else ""
        return [k for k in (*(self.key(p) for p in KEY_VARS), token, mqtt) if k]

    def mountings(self) -> dict[str, str]:
        return camera_mountings(self.cameras)


def failover_chain(settings: Settings, primary: str) -> list[str]:
    """The LLM chain for `primary`: itself, then the other cloud providers that have keys, then offline.

    `NUANU_FAILOVER` may list the chain explicitly (comma-separated specs, the primary first or not),
    `off` disables failover, `auto` (default) builds it from the keys that are set.
    """
    if primary.startswith("offline/"):
        return [primary]
    value = settings.failover.strip().lower()
    if value in FAILOVER_OFF:
        return [primary]
    if value and value != "auto":
        chain = [primary] + [
            s.strip() for s in settings.failover.split(",") if s.strip() and s.strip() != primary
        ]
    else:
        chain = [primary]
        if not primary.startswith("openai/") and settings.key("openai"):
            chain.append(f"openai/{settings.openai_model}")
        if not primary.startswith("groq/") and settings.key("groq"):
            chain.append(f"groq/{settings.groq_model}")
    for spec in chain:
        parse_llm_spec(spec)
    if not chain[-1].startswith("offline/"):
        chain.append("offline/phrasebook")
    return chain


def mask(secret: str | None) -> str:
    """`gsk_…f3a9` style: enough to recognise a key, never enough to use it."""
    if not secret:
        return "(not set)"
    if len(secret) <= 8:
        return "*" * len(secret)
    return f"{secret[:4]}…{secret[-4:]}"


@dataclass(frozen=True, slots=True)
class LLMSpec:
    provider: str
    model: str

    def __str__(self) -> str:
        return f"{self.provider}/{self.model}"


def parse_llm_spec(spec: str) -> LLMSpec:
    provider, sep, model = spec.strip().partition("/")
    if not sep or provider not in LLM_PROVIDERS or not model:
        raise ConfigError(
            f"bad LLM spec {spec!r}: use PROVIDER/MODEL with PROVIDER one of {', '.join(LLM_PROVIDERS)}"
            " (e.g. groq/llama-3.1-8b-instant, offline/phrasebook)"
        )
    return LLMSpec(provider, model)


@dataclass(frozen=True, slots=True)
class Selection:
    """Which LLM and TTS to use, and why any part is offline."""

    llm: str
    tts: str
    offline_reasons: tuple[str, ...] = ()

    @property
    def offline(self) -> bool:
        return bool(self.offline_reasons)


def offline_reasons(settings: Settings, llm: str, tts: str) -> tuple[str, ...]:
    """Why the parts of `llm` + `tts` that run offline do: a missing key, or the operator's choice."""
    reasons = []
    if llm.startswith("offline/"):
        keyless = not (settings.key("groq") or settings.key("openai"))
        reasons.append(
            "LLM offline: " + ("no GROQ_API_KEY or OPENAI_API_KEY" if keyless else "chosen explicitly")
        )
    if tts.split("/")[0] == "espeak":
        keyless = not settings.key("elevenlabs")
        reasons.append("TTS offline: " + ("no ELEVENLABS_API_KEY" if keyless else "chosen explicitly"))
    return tuple(reasons)


def choose_defaults(settings: Settings, llm: str | None = None, tts: str | None = None) -> Selection:
    """Cloud parts that have keys, offline parts for the rest; explicit choices always win."""
    llm = llm or settings.llm
    if llm is None:
        if settings.key("groq"):
            llm = f"groq/{settings.groq_model}"
        elif settings.key("openai"):
            llm = f"openai/{settings.openai_model}"
        else:
            llm = "offline/phrasebook"
    tts = tts or settings.tts or ("elevenlabs" if settings.key("elevenlabs") else "espeak")
    if tts.split("/")[0] not in TTS_PROVIDERS:
        raise ConfigError(f"bad TTS spec {tts!r}: use one of {', '.join(TTS_PROVIDERS)}")
    return Selection(llm, tts, offline_reasons(settings, llm, tts))


def _is_token(value: str, *, allow_empty: bool = False) -> bool:
    """Non-empty printable text with no whitespace: what keys, model names and voice ids look like."""
    if not value:
        return allow_empty
    return value.isprintable() and not any(ch.isspace() for ch in value)


def _check_url(value: str | None, schemes: tuple[str, ...]) -> str | None:
    if value is None:
        return None
    parts = urlsplit(value.strip())
    if parts.scheme not in schemes or not parts.hostname:
        raise ValueError(f"a URL starting with {' or '.join(s + '://' for s in schemes)} and naming a host")
    return value.strip()


def _spec_or_value_error(spec: str, prefix: str = "") -> None:
    try:
        parse_llm_spec(spec)
    except ConfigError as exc:
        raise ValueError(prefix + f"PROVIDER/MODEL with PROVIDER one of {', '.join(LLM_PROVIDERS)}") from exc


class SettingsError(ConfigError):
    """Bad values in the environment or .env: one line per bad setting (`lines`), exit status 2."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__("; ".join(lines))
        self.kind = "settings"
        self.lines = lines


def load_settings() -> Settings:
    """`Settings()` with every bad value turned into a `SettingsError` that names variable, value and source."""
    try:
        return Settings()
    except ValidationError as exc:
        raise SettingsError(settings_problems(exc)) from None


def settings_problems(exc: ValidationError) -> list[str]:
    lines = []
    for error in exc.errors():
        var = str(error["loc"][0]) if error["loc"] else "?"
        field = _field_for(var)
        secret = field is not None and "SecretStr" in str(Settings.model_fields[field].annotation)
        shown = error.get("input")
        if field == "mqtt" and isinstance(shown, str):  # a URL may carry a password: never echo it
            from nuanu_tui.core.mqtt_url import safe_url

            shown = safe_url(shown)
        value = "" if secret else f"={_show(shown)}"
        hidden = " (value hidden)" if secret else ""
        lines.append(f"{var}{value}{hidden} from {setting_source(var)}: allowed: {_allowed(field, error)}")
    return lines


def _show(value: Any) -> str:
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _field_for(var: str) -> str | None:
    for name, info in Settings.model_fields.items():
        alias = info.validation_alias
        if isinstance(alias, AliasChoices) and var in alias.choices:
            return name
    return None


def setting_source(var: str) -> str:
    """Where a variable's value comes from: the environment wins over the .env file (pydantic-settings)."""
    if any(name.upper() == var.upper() for name in os.environ):
        return "the environment"
    return f"the .env file {Path(ENV_FILE).resolve()}"


def _allowed(field: str | None, error: Any) -> str:
    """What the setting accepts, from the field's own type and bounds (or the validator's words)."""
    if error.get("type") == "value_error":
        return str(error["msg"]).removeprefix("Value error, ")
    info = Settings.model_fields.get(field or "")
    if info is None:
        return str(error["msg"])
    bounds = {}
    for meta in info.metadata:
        for name in ("ge", "gt", "le", "lt"):
            if getattr(meta, name, None) is not None:
                bounds[name] = getattr(meta, name)
    kind = info.annotation
    text = str(kind)
    if "Literal" in text:
        return str(error["msg"]).replace("Input should be ", "")
    if kind is bool:
        return "true or false (also 1/0, yes/no, on/off)"
    noun = "a whole number" if "int" in text else "a number"
    parts = [f"{noun}"]
    symbols = {"ge": ">=", "gt": ">", "le": "<=", "lt": "<"}
    parts += [f"{symbols[k]} {v:g}" for k, v in bounds.items()]
    return " ".join(parts[:1]) + (" " + " and ".join(parts[1:]) if len(parts) > 1 else "")


def secret_values() -> list[str]:
    """The configured keys, read without building Settings (which may be what failed), for scrubbing."""
    from dotenv import dotenv_values

    values = dict(dotenv_values(ENV_FILE)) if Path(ENV_FILE).is_file() else {}
    values.update(os.environ)
    upper = {k.upper(): v for k, v in values.items()}
    names = (*KEY_VARS.values(), "NUANU_EVENTS_TOKEN", "NUANU_MQTT_PASSWORD")
    return [v.strip() for var in names if (v := upper.get(var)) and v.strip()]

"""LLM / TTS / output-format choice and the queue-or-interrupt toggle. Applies to the next utterance."""

from __future__ import annotations

from rich.markup import escape
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.widgets import Label, Select, Switch

from nuanu_tui.ui.widgets.steady import SteadyStatic

AUDIO_LOST_CHOICES = {"hold": "hold remarks, drop stale", "keep": "keep generating (not heard)"}


def audio_spec(device: str) -> str:
    """The status bar's device name as an `--audio` spec: `sounddevice:pulse` -> `device:pulse`."""
    kind, _, name = device.partition(":")
    return f"device:{name}" if kind == "sounddevice" and name else device


class ProviderPicker(VerticalScroll):
    """Posts `Changed(kind, value)` when the operator picks something different from the current choice."""

    DEFAULT_CSS = """
    ProviderPicker { height: auto; max-height: 100%; padding: 0 1; }
    ProviderPicker > Label { margin-top: 1; color: $text-muted; }
    ProviderPicker > Select { width: 100%; }
    ProviderPicker SelectCurrent Static#label { text-wrap: nowrap; text-overflow: ellipsis; }
    ProviderPicker > #mode-row { height: auto; margin-top: 1; }
    ProviderPicker > #mode-row > Label { padding: 1 1 0 1; }
    ProviderPicker > #instant-row { height: auto; }
    ProviderPicker > #instant-row > Label { padding: 1 1 0 1; }
    ProviderPicker > #now { margin-top: 1; color: $text-muted; height: auto; }
    """

    class Changed(Message):
        def __init__(self, kind: str, value: str) -> None:
            super().__init__()
            self.kind = kind  # "llm" | "prompt" | "tts" | "format" | "interrupt" | "instant" | "audio" | …
            self.value = value

    def __init__(
        self,
        llm_presets: tuple[str, ...],
        tts_choices: tuple[str, ...],
        formats: tuple[str, ...],
        *,
        interrupt: bool = False,
        instant: bool = True,
        prompts: tuple[str, ...] = (),
        prompt: str | None = None,
        **kwargs: object,
    ) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.prompts = list(prompts)
        self.llms = list(llm_presets)
        self.tts_choices = list(tts_choices)
        self.formats = list(formats)
        self.devices: list[str] = []
        self.interrupt = interrupt
        self.instant = instant
        self.current: dict[str, str] = {"prompt": prompt} if prompt else {}

    def compose(self) -> ComposeResult:
        yield Label("LLM provider/model")
        yield Select(
            [(s, s) for s in self.llms], id="pick-llm", allow_blank=True, prompt="(starting…)", compact=True
        )
        if self.prompts:
            yield Label("Prompt")
            yield Select(
                [(p, p) for p in self.prompts],
                id="pick-prompt",
                allow_blank=False,
                value=self.current.get("prompt", self.prompts[0]),
                compact=True,
            )
        yield Label("TTS voice/model")
        yield Select(
            [(s, s) for s in self.tts_choices],
            id="pick-tts",
            allow_blank=True,
            prompt="(starting…)",
            compact=True,
        )
        yield Label("Output format")
        yield Select(
            [(s, s) for s in self.formats],
            id="pick-format",
            allow_blank=True,
            prompt="(default)",
            compact=True,
        )
        yield Label("Speaker")
        yield Select([], id="pick-audio", allow_blank=True, prompt="(starting…)", compact=True)
        yield Label("While the speaker is lost")
        yield Select(
            [(label, value) for value, label in AUDIO_LOST_CHOICES.items()],
            id="pick-audio-lost",
            allow_blank=False,
            value="hold",
            compact=True,
        )
        with Horizontal(id="mode-row"):
            yield Switch(
                self.interrupt, id="pick-interrupt", tooltip="On: a new trigger interrupts the current one"
            )
            yield Label("interrupt", id="mode-label")
        with Horizontal(id="instant-row"):
            yield Switch(
                self.instant, id="pick-instant", tooltip="On: an interjection plays at once, then the remark"
            )
            yield Label("instant reaction", id="instant-label")
        yield SteadyStatic("", id="now")

    def show_current(self, llm: str, tts: str, fmt: str) -> None:
        """Reflect the engine's actual choice (after start-up or a switch)."""
        self.current.update(llm=llm, tts=tts, format=fmt)
        if llm and llm not in self.llms:
            self.llms.append(llm)
            self.query_one("#pick-llm", Select).set_options([(s, s) for s in self.llms])
        if tts and tts not in self.tts_choices:
            self.tts_choices.append(tts)
            self.query_one("#pick-tts", Select).set_options([(s, s) for s in self.tts_choices])
        for wid, value in (("#pick-llm", llm), ("#pick-tts", tts), ("#pick-format", fmt)):
            select = self.query_one(wid, Select)
            if value and select.value != value:
                select.value = value
        self.query_one("#now", SteadyStatic).show(
            f"[b]next utterance[/]\n{escape(llm)}\n{escape(tts)}{' · ' + escape(fmt) if fmt else ''}"
        )

    def show_audio(self, device: str, policy: str) -> None:
        """Reflect the speaker in use (`sounddevice:NAME` -> the `device:NAME` choice) and the policy."""
        spec = audio_spec(device)
        self.current["audio"], self.current["audio_lost"] = spec, policy
        if spec not in self.devices:
            self.set_devices((*self.devices, spec))
        for wid, value in (("#pick-audio", spec), ("#pick-audio-lost", policy)):
            select = self.query_one(wid, Select)
            if select.value != value:
                select.value = value

    def set_devices(self, devices: tuple[str, ...]) -> None:
        """The outputs the engine can switch to (`device:NAME`), plus the one in use."""
        current = self.current.get("audio")
        merged = list(dict.fromkeys([*devices, *([current] if current else [])]))
        if merged == self.devices:
            return
        self.devices = merged
        select = self.query_one("#pick-audio", Select)
        select.set_options([(d, d) for d in merged])
        if current:
            select.value = current

    def add_models(self, models: tuple[str, ...]) -> int:
        """Merge what /models returned into the LLM list; returns how many were new."""
        new = [m for m in models if m not in self.llms]
        if new:
            self.llms.extend(sorted(new))
            select = self.query_one("#pick-llm", Select)
            value = select.value
            select.set_options([(s, s) for s in self.llms])
            if isinstance(value, str):
                select.value = value
        return len(new)

    def on_select_changed(self, event: Select.Changed) -> None:
        event.stop()
        kind = {
            "pick-llm": "llm",
            "pick-tts": "tts",
            "pick-format": "format",
            "pick-audio": "audio",
            "pick-audio-lost": "audio_lost",
            "pick-prompt": "prompt",
        }.get(event.select.id or "")
        if kind and isinstance(event.value, str) and event.value != self.current.get(kind):
            if kind == "prompt":
                self.current["prompt"] = event.value
            self.post_message(self.Changed(kind, event.value))

    def on_switch_changed(self, event: Switch.Changed) -> None:
        event.stop()
        kind = "instant" if event.switch.id == "pick-instant" else "interrupt"
        setattr(self, kind, event.value)
        self.post_message(self.Changed(kind, "on" if event.value else "off"))

    def set_interrupt(self, value: bool) -> None:
        self.interrupt = value
        self.query_one("#pick-interrupt", Switch).value = value

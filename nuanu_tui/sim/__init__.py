"""Local emulator of the real wire protocols (OpenAI/Groq SSE, ElevenLabs WS) for offline tests and --demo."""

from nuanu_tui.sim.content import default_reply, synth_voice, tokenize
from nuanu_tui.sim.faults import Faults, LLMFault, TTSFault
from nuanu_tui.sim.openai_sse import DEFAULT_MODELS
from nuanu_tui.sim.profiles import PROFILES, LLMProfile, ProfileSet, TTSProfile, get_profile
from nuanu_tui.sim.server import SimServer, SimThread, export_lines, run_forever

__all__ = [
    "DEFAULT_MODELS",
    "PROFILES",
    "Faults",
    "LLMFault",
    "LLMProfile",
    "ProfileSet",
    "SimServer",
    "SimThread",
    "TTSFault",
    "TTSProfile",
    "default_reply",
    "export_lines",
    "get_profile",
    "run_forever",
    "synth_voice",
    "tokenize",
]

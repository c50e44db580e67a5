"""The Textual front end. It only observes the engine (through the engine link and its per-mode bridges), and renders at a bounded rate."""

import os

# A full 120x40 frame costs this machine ~15 ms of CPU; 60 fps of it would compete with the audio path for
# the GIL. 20 fps is smooth for text and bars. Read by textual at import, so it is set before textual loads.
os.environ.setdefault("TEXTUAL_FPS", "20")

"""Ride mode: camera events in, a director that decides what is worth saying, rides recorded and replayed.

Rooms: `events` (schema and validation), `vocab` (labels and Russian triggers), `director` (the policy, no
I/O), `feeds` (transports into one bounded queue), `recording` (JSON lines), `session` (a ride composed of an
engine, the director, the feeds and the store).
"""

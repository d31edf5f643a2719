"""Shared vocabulary every layer above may import: instance states and how the
API derives a server's status from them (``states``), every task an instance
runs, step by step (``tasks``), and what a compute host is told about an
instance (``payloads``). It imports nothing of nova_lite but itself and sits
below ``db``, whose compare-and-set transitions are written in these states."""

"""Bundled data: real Rotten Tomatoes snippets (see SOURCE.md) and a small chat file for notebook 01."""

from pathlib import Path

CHATS = Path(__file__).with_name("chats.jsonl")  # ShareGPT chats from the demo generators (make_chats.py)

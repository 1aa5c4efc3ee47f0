"""The CLI takes the same formats: `workbench audit chats.jsonl --format sharegpt --role gpt`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from workbench.demo_data import CHATS
from workbench.formats import ALL_FORMATS

ROOT = Path(__file__).resolve().parent.parent


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    return subprocess.run(
        [sys.executable, "-m", "workbench.cli", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


def embeddings(n: int) -> np.ndarray:
    x = np.random.default_rng(0).normal(size=(n, 16)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def sharegpt(n: int) -> list[dict]:
    return [
        {
            "id": f"c{i}",
            "conversations": [
                {"from": "human", "value": f"Review film number {i}, please."},
                {"from": "gpt", "value": f"Film {i} has a sharp script and a {['dull', 'great'][i % 2]} ending."},
            ],
            "model": "critic-7b",
            "generator_version": "2024-06",
            "sampling": {"temperature": 0.7, "seed": i},
            "split": "train",
        }
        for i in range(n)
    ]


def test_audit_help_lists_every_format(tmp_path):
    proc = run("audit", "--help", cwd=tmp_path)
    assert proc.returncode == 0
    flat = " ".join(proc.stdout.split())
    for name in ALL_FORMATS:
        assert name in flat, name
    assert "--format sharegpt --role gpt" in proc.stdout and "--role" in proc.stdout


def test_audit_sharegpt_with_role_gpt(tmp_path):
    (tmp_path / "chats.jsonl").write_text("\n".join(json.dumps(r) for r in sharegpt(6)), "utf-8")
    np.save(tmp_path / "e.npy", embeddings(6))
    args = ("audit", "chats.jsonl", "--format", "sharegpt", "--role", "gpt", "--checks", "provenance")
    proc = run(*args, "--embeddings", "e.npy", "--out", "rep", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "data: chats.jsonl: sharegpt in jsonl, 6 conversations -> 6 rows" in proc.stdout
    report = json.loads((tmp_path / "rep" / "audit.json").read_text())
    assert next(c for c in report["checks"] if c["check"] == "provenance")["status"] == "pass"


def test_audit_bundled_chats_fails_on_the_untraceable_batch(tmp_path):
    n = sum(len([t for t in json.loads(line)["conversations"] if t["from"] == "gpt"]) for line in CHATS.open())
    np.save(tmp_path / "e.npy", embeddings(n))
    proc = run("audit", str(CHATS), "--checks", "provenance", "--embeddings", "e.npy", "--out", "rep", cwd=tmp_path)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "sharegpt" in proc.stdout and "synthetic without generator" in proc.stdout


def test_a_malformed_record_exits_2_with_one_line(tmp_path):
    rows = sharegpt(2)
    rows[1]["conversations"] = rows[1]["conversations"][::-1]  # the model speaks first
    (tmp_path / "bad.jsonl").write_text("\n".join(json.dumps(r) for r in rows), "utf-8")
    proc = run("audit", "bad.jsonl", "--checks", "provenance", cwd=tmp_path)
    assert proc.returncode == 2
    lines = [x for x in proc.stderr.splitlines() if x.strip()]
    assert len(lines) == 1 and "bad.jsonl line 2: roles out of order" in lines[0], proc.stderr

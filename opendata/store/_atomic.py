"""Crash-safe file publication: write under a temporary name, fsync, then rename into place."""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path


def fsync_file(path: Path) -> None:
    """Flush a file's bytes to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(path: Path) -> None:
    """Flush a directory entry (so a rename survives a power cut)."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def temp_dir(parent: Path) -> Path:
    """A fresh hidden staging folder beside the final one (same filesystem, so rename is atomic)."""
    parent.mkdir(parents=True, exist_ok=True)
    path = parent / f".tmp-{uuid.uuid4().hex}"
    path.mkdir()
    return path


def commit_dir(staging: Path, final: Path) -> None:
    """fsync every file in `staging`, then atomically rename it to `final`."""
    for item in staging.iterdir():
        if item.is_file():
            fsync_file(item)
    fsync_dir(staging)
    if final.exists():
        # Left by a run killed after its rename but before its catalog commit: never visible.
        shutil.rmtree(final)
    os.rename(staging, final)
    fsync_dir(final.parent)


def write_text_atomic(path: Path, text: str) -> None:
    """Replace a small text file atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    tmp.write_text(text, encoding="utf-8")
    fsync_file(tmp)
    os.replace(tmp, path)


def remove_stale_staging(parent: Path) -> int:
    """Delete staging folders left by killed runs; returns how many were removed."""
    if not parent.exists():
        return 0
    stale = [p for p in parent.iterdir() if p.name.startswith(".tmp-") and p.is_dir()]
    for path in stale:
        shutil.rmtree(path, ignore_errors=True)
    return len(stale)

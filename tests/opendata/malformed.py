"""Hostile and broken archives for the reader and CLI tests: zip slip, symbolic links, zip bombs.

Each builder writes a real zip with `zipfile` (the way an attacker or a broken export tool would),
starting from a valid zipped Shapefile so that the only thing wrong is the thing under test.
"""

from __future__ import annotations

import stat
import struct
import zipfile
from collections.abc import Callable
from pathlib import Path

from tests.opendata.readers.fixtures_readers import zipped_shapefile

MiB = 1 << 20


def shapefile_zip_with(path: Path, extra: Callable[[zipfile.ZipFile], None]) -> Path:
    """A valid zipped Shapefile of the places (`data/kohteet.*`) plus what `extra` adds."""
    zipped_shapefile(path)
    with zipfile.ZipFile(path, "a") as archive:
        extra(archive)
    return path


def member(name: str, data: bytes = b"x") -> Callable[[zipfile.ZipFile], None]:
    """Add one member under exactly this name (zipfile keeps `..`, `/` and `C:` as given)."""

    def add(archive: zipfile.ZipFile) -> None:
        archive.writestr(zipfile.ZipInfo(name), data)

    return add


def symlink(name: str, target: str) -> Callable[[zipfile.ZipFile], None]:
    """Add a Unix symbolic link member pointing at `target` (as `zip --symlinks` stores it)."""

    def add(archive: zipfile.ZipFile) -> None:
        info = zipfile.ZipInfo(name)
        info.create_system = 3
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(info, target)

    return add


def zeros(name: str, size: int) -> Callable[[zipfile.ZipFile], None]:
    """Add a member of `size` zero bytes, deflated (about 1000 times smaller)."""

    def add(archive: zipfile.ZipFile) -> None:
        archive.writestr(zipfile.ZipInfo(name), bytes(size), compress_type=zipfile.ZIP_DEFLATED)

    return add


def many(count: int) -> Callable[[zipfile.ZipFile], None]:
    """Add `count` one-byte members."""

    def add(archive: zipfile.ZipFile) -> None:
        for i in range(count):
            archive.writestr(f"data/part{i:05d}.txt", b"x")

    return add


def claim_sizes(path: Path, size: int) -> Path:
    """Rewrite the central directory so every member claims `size` bytes, packed and unpacked
    (an archive whose headers announce gigabytes: refused from the headers alone)."""
    data = bytearray(path.read_bytes())
    end = data.rindex(b"PK\x05\x06")
    entries, _, start = struct.unpack_from("<HII", data, end + 10)
    offset = start
    for _ in range(entries):
        assert data[offset : offset + 4] == b"PK\x01\x02"
        struct.pack_into("<II", data, offset + 20, size, size)
        name_len, extra_len, comment_len = struct.unpack_from("<HHH", data, offset + 28)
        offset += 46 + name_len + extra_len + comment_len
    path.write_bytes(bytes(data))
    return path

"""Zip archives (zipped Shapefiles, .xlsx workbooks, any source GDAL would open as /vsizip/) are
checked from their central directory before a single byte is inflated or handed to GDAL.

Refused: a member whose name escapes the archive ("zip slip": `..`, an absolute or drive path, a
control character) or that is a symbolic link, and archives out of proportion (a zip bomb): too
many members, too much uncompressed data, or a member that inflates far more than real data does.
Nothing is ever extracted to disk; GDAL and openpyxl read members in place. Hand-written because
`zipfile` applies none of these limits and no maintained library does it for a path we read.
"""

from __future__ import annotations

import re
import stat
import zipfile
from pathlib import Path, PurePosixPath

from opendata.errors import SourceError

#: More members than any real zipped Shapefile or workbook has (a Shapefile has 3 to 8 parts).
MAX_MEMBERS = 1000
#: Uncompressed bytes in all members together (a Shapefile part cannot exceed 2 GiB anyway).
MAX_TOTAL_BYTES = 2 << 30
#: Inflation a member may show once it is bigger than `RATIO_FLOOR`; real tables and geometry
#: compress 3-30x, a zip bomb thousands of times.
MAX_RATIO = 100
RATIO_FLOOR = 8 << 20
_DRIVE = re.compile(r"^[A-Za-z]:")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def is_archive(path: Path) -> bool:
    """Whether the file is a zip archive (by its content, not its name)."""
    try:
        return path.is_file() and zipfile.is_zipfile(path)
    except OSError:
        return False


def check_archive(path: Path) -> list[str]:
    """The file members of a safe archive; `SourceError` naming the member when it is not."""
    infos = _entries(path)
    if len(infos) > MAX_MEMBERS:
        raise SourceError(
            f"{path.name}: the archive holds {len(infos)} files (more than {MAX_MEMBERS}); "
            "refused as a possible zip bomb, nothing was unpacked"
        )
    for info in infos:
        _check_member(path, info)
    total = sum(info.file_size for info in infos)
    if total > MAX_TOTAL_BYTES:
        raise SourceError(
            f"{path.name}: the archive would unpack to {_size(total)} (more than "
            f"{_size(MAX_TOTAL_BYTES)}); refused as a possible zip bomb, nothing was unpacked"
        )
    return [info.filename for info in infos if not info.is_dir()]


def _entries(path: Path) -> list[zipfile.ZipInfo]:
    try:
        with zipfile.ZipFile(path) as archive:
            return archive.infolist()
    except (zipfile.BadZipFile, EOFError, OSError, ValueError):
        raise not_a_zip(path) from None


def not_a_zip(path: Path) -> SourceError:
    """The one message for a zip that cannot be listed or whose data does not check out."""
    return SourceError(
        f"{path.name}: is not a valid zip archive (truncated or corrupt); download or zip the "
        "shapefile again"
    )


def _check_member(path: Path, info: zipfile.ZipInfo) -> None:
    name = info.filename
    shown = repr(name[:80])
    if _CONTROL.search(name):
        raise _refused(path, shown, "has a control character in its name")
    parts = PurePosixPath(name.replace("\\", "/")).parts
    if name.startswith(("/", "\\")) or _DRIVE.match(name):
        raise _refused(path, shown, "has an absolute path (zip slip)")
    if ".." in parts:
        raise _refused(path, shown, "points outside the archive with '..' (zip slip)")
    if info.create_system == 3 and stat.S_ISLNK(info.external_attr >> 16):
        raise _refused(path, shown, "is a symbolic link")
    if info.file_size > RATIO_FLOOR and info.file_size > MAX_RATIO * max(info.compress_size, 1):
        ratio = info.file_size / max(info.compress_size, 1)
        raise _refused(
            path,
            shown,
            f"would unpack {ratio:,.0f} times larger ({_size(info.compress_size)} to "
            f"{_size(info.file_size)}; a possible zip bomb)",
        )


def _refused(path: Path, member: str, why: str) -> SourceError:
    return SourceError(
        f"{path.name}: member {member} {why}; the archive was refused and nothing was unpacked"
    )


def _size(n: float) -> str:
    """Bytes as a person reads them: `8.0 MiB`."""
    units = ("bytes", "KiB", "MiB", "GiB", "TiB")
    step = 0
    while n >= 1024 and step < len(units) - 1:
        n, step = n / 1024, step + 1
    return f"{n:,.0f} bytes" if step == 0 else f"{n:,.1f} {units[step]}"

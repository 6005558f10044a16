"""Text columns of single-byte or UTF-8 files: validated or transcoded to UTF-8 one raw column
buffer at a time (NumPy over the bytes, no Python per row), naming the line of a bad byte."""

from __future__ import annotations

import codecs
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa

from opendata.errors import SourceError


def is_utf8(data: bytes | pa.Array) -> bool:
    """Whether raw bytes (or a binary array) are valid UTF-8."""
    try:
        if isinstance(data, bytes):
            data.decode("utf-8")
        else:
            data.cast(pa.large_string())
    except (UnicodeDecodeError, pa.ArrowInvalid):
        return False
    return True


def _utf8_lengths(encoding: str) -> np.ndarray:
    """UTF-8 length minus one of each byte value decoded from a single-byte encoding."""
    extra = [len(bytes([b]).decode(encoding, "replace").encode("utf-8")) - 1 for b in range(256)]
    return np.array(extra, dtype=np.int64)


_EXTRA = {enc: _utf8_lengths(enc) for enc in ("cp1252", "latin-1")}


def decode_column(
    column: pa.ChunkedArray, encoding: str, *, path: Path, column_name: str, first_line: int
) -> pa.ChunkedArray:
    """A raw `large_binary` column as `large_string`, refusing bytes that are not `encoding`."""
    chunks, row = [], 0
    for chunk in column.chunks:
        where = _Where(path, column_name, first_line + row)
        chunks.append(_decode_chunk(chunk, encoding, where))
        row += len(chunk)
    return pa.chunked_array(chunks, pa.large_string())


@dataclass(frozen=True)
class _Where:
    """Where a chunk starts, to name the line of a bad byte."""

    path: Path
    column: str
    line: int

    def line_of(self, offsets: np.ndarray, position: int) -> int:
        return self.line + int(np.searchsorted(offsets, position, side="right")) - 1


def _decode_chunk(arr: pa.Array, encoding: str, where: _Where) -> pa.Array:
    if arr.offset:  # never produced by the CSV parser; normalise rather than mis-slice buffers
        arr = pa.array(arr.to_pylist(), pa.large_binary())
    validity, offsets_buf, data_buf = arr.buffers()
    offsets = np.frombuffer(offsets_buf, np.int64, len(arr) + 1)
    data = (
        np.frombuffer(data_buf, np.uint8, int(offsets[-1])) if data_buf else np.empty(0, np.uint8)
    )
    if encoding == "utf-8":
        try:
            return arr.cast(pa.large_string())  # validates UTF-8 (SIMD), shares the buffers
        except pa.ArrowInvalid:
            raise _not_utf8(data, offsets, where) from None
    high = np.flatnonzero(data >= 0x80)
    if not high.size:  # pure ASCII: the same bytes are already UTF-8
        return pa.Array.from_buffers(pa.large_string(), len(arr), [validity, offsets_buf, data_buf])
    _refuse_utf8_pairs(data, high, offsets, encoding, where)
    try:
        text = codecs.decode(data, encoding).encode("utf-8")
    except UnicodeDecodeError as err:
        raise SourceError(
            f"{where.path.name}: line {where.line_of(offsets, err.start)} has byte "
            f"0x{data[err.start]:02X} that is not {encoding} text; check source.options.encoding"
        ) from None
    shift = np.concatenate(([0], np.cumsum(_EXTRA[encoding][data[high]])))
    new_offsets = offsets + shift[np.searchsorted(high, offsets)]
    buffers = [validity, pa.py_buffer(new_offsets), pa.py_buffer(text)]
    return pa.Array.from_buffers(pa.large_string(), len(arr), buffers)


def _refuse_utf8_pairs(
    data: np.ndarray, high: np.ndarray, offsets: np.ndarray, encoding: str, where: _Where
) -> None:
    """Single-byte text never has UTF-8 pairs such as 'Ã¤' (ä); finding one means mixed files."""
    lead, nxt = high[:-1], high[1:]
    pairs = lead[(nxt == lead + 1) & ((data[lead] == 0xC2) | (data[lead] == 0xC3))]
    pairs = pairs[(data[pairs + 1] >= 0x80) & (data[pairs + 1] <= 0xBF)]
    if pairs.size:
        sample = bytes(data[pairs[0] : pairs[0] + 2]).decode("utf-8")
        raise SourceError(
            f"{where.path.name}: line {where.line_of(offsets, int(pairs[0]))} contains UTF-8 text "
            f"({sample!r}) but the file is read as {encoding}: if the whole file is UTF-8 set "
            "source.options.encoding = 'utf-8'; if only some lines are (mixed encodings), "
            "save the file again in one encoding"
        )


def _not_utf8(data: np.ndarray, offsets: np.ndarray, where: _Where) -> SourceError:
    try:
        codecs.decode(data, "utf-8")
        position = 0
    except UnicodeDecodeError as err:
        position = err.start
    valid_before = is_utf8(bytes(data[:position])) and bool((data[:position] >= 0x80).any())
    hint = (
        "the file mixes encodings (earlier lines are UTF-8); save it again in one encoding"
        if valid_before
        else "the file seems to be cp1252/latin-1 (as Excel saves CSV): set "
        "source.options.encoding = 'cp1252'"
    )
    return SourceError(
        f"{where.path.name}: line {where.line_of(offsets, position)} is not valid UTF-8 "
        f"(byte 0x{data[position]:02X} in column {where.column!r}); {hint}"
    )

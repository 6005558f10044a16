"""CSV as Nordic municipalities publish it: `;` or `,`, decimal commas, cp1252 or UTF-8 (BOM).

The file is parsed once by `pyarrow.csv` (multithreaded) with every text column kept as raw bytes;
each column is then validated or transcoded to UTF-8 as one buffer, and coordinates are parsed and
turned into points vectorised. No per-row Python runs on the happy path.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from opendata.errors import SourceError, SpecError
from opendata.readers import check_options
from opendata.readers.vector import check_crs, table_geometry, to_geodataframe

OPTIONS = {**dict.fromkeys(("delimiter", "decimal", "encoding", "x", "y", "wkt"), str)}
OPTIONS.update(columns=dict, skip_rows=int)
DELIMITERS = (";", ",", "\t")
_LABELS = {"\t": "tab", ";": "semicolon", ",": "comma"}
#: Accepted spellings of each supported encoding.
ENCODINGS = {"utf8": "utf-8", "windows-1252": "cp1252", "latin1": "latin-1"}
ENCODINGS.update(dict.fromkeys(("iso-8859-1", "iso8859-1"), "latin-1"))
ENCODINGS.update({name: name for name in ("utf-8", "cp1252", "latin-1", "auto")})
_BLOCK = 4 << 20  # parse block: few chunks per column, little parser scratch memory
_HEAD = 256 << 10  # bytes looked at to read the header and sniff the delimiter


@dataclass(frozen=True)
class CsvOptions:
    """The checked `source.options` of a CSV source."""

    delimiter: str = "auto"
    decimal: str = "."
    encoding: str = "auto"
    x: str | None = None
    y: str | None = None
    wkt: str | None = None
    columns: tuple[str, ...] | None = None
    skip_rows: int = 0

    @classmethod
    def parse(cls, options: Mapping[str, Any]) -> CsvOptions:
        """Check types and allowed values; every failure names its `source.options` key."""
        check_options(options, OPTIONS)
        opts = cls(**{k: v for k, v in options.items() if k != "columns"})
        _choice("delimiter", opts.delimiter, (*DELIMITERS, "auto"))
        _choice("decimal", opts.decimal, (".", ","))
        _choice("encoding", opts.encoding.lower(), tuple(ENCODINGS))
        if (opts.x is None) != (opts.y is None):
            raise SpecError("source.options.x: 'x' and 'y' must be given together")
        if opts.x is not None and opts.wkt is not None:
            raise SpecError("source.options.wkt: give either 'wkt' or 'x'/'y', not both")
        if opts.skip_rows < 0:
            raise SpecError(f"source.options.skip_rows: expected 0 or more, got {opts.skip_rows}")
        fields = {**opts.__dict__, "encoding": ENCODINGS[opts.encoding.lower()]}
        fields["columns"] = _columns_option(options.get("columns"))
        return cls(**fields)

    @property
    def geometry_columns(self) -> tuple[str, ...]:
        """The source columns the geometry is built from (removed from the output)."""
        return tuple(c for c in (self.x, self.y, self.wkt) if c is not None)


def _choice(key: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        shown = ", ".join(repr(a) for a in allowed)
        raise SpecError(f"source.options.{key}: expected one of {shown}, got {value!r}")


def _columns_option(columns: Mapping[str, Any] | None) -> tuple[str, ...] | None:
    if columns is None:
        return None
    for name, kind in columns.items():
        if kind != "string":
            raise SpecError(
                f"source.options.columns.{name}: expected 'string' (types are set in [schema]), "
                f"got {kind!r}"
            )
    return tuple(columns)


def read_csv(path: Path, *, crs: str | None, options: Mapping[str, Any]) -> gpd.GeoDataFrame:
    """Read a delimited text file; all non-geometry columns come back as pandas strings."""
    opts = CsvOptions.parse(options)
    if opts.geometry_columns:
        check_crs(crs)
    head = _read_head(path)
    names, delimiter = _header(path, head, opts)
    _check_named_columns(path, names, opts)
    table = _parse(path, names, delimiter, opts)
    if table.num_rows == 0:
        raise SourceError(f"{path}: has a header but no data rows; export the table again")
    encoding = _table_encoding(table, opts)
    columns = dict(zip(table.column_names, table.columns, strict=True))
    del table  # from here each raw column is freed as soon as it is decoded
    _release()
    geometry, reasons = None, None
    if opts.geometry_columns:
        raw = {
            c: _geometry_input(path, columns.pop(c), c, encoding, opts)
            for c in opts.geometry_columns
        }
        geometry, reasons = table_geometry(
            raw, x=opts.x, y=opts.y, wkt=opts.wkt, decimal=opts.decimal
        )
        del raw
    frame = _text_frame(path, columns, encoding, opts)
    if geometry is None:
        return gpd.GeoDataFrame(frame)
    return to_geodataframe(frame, geometry, reasons, crs=crs, path=path)


def _read_head(path: Path) -> bytes:
    with path.open("rb") as fh:
        head = fh.read(_HEAD)
    if not head.strip().removeprefix(codecs.BOM_UTF8).strip():
        raise SourceError(f"{path}: the file is empty; export the table again with a header row")
    return head


def _header_line(path: Path, head: bytes, opts: CsvOptions) -> str:
    """The header row as text (after `skip_rows`), decoded in the declared encoding."""
    lines = head.removeprefix(codecs.BOM_UTF8).splitlines()
    if len(lines) <= opts.skip_rows:
        raise SourceError(f"{path}: has no header row after skipping {opts.skip_rows} rows")
    raw = lines[opts.skip_rows]
    encoding = (
        opts.encoding if opts.encoding != "auto" else ("utf-8" if _is_utf8(raw) else "cp1252")
    )
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError:
        raise SourceError(
            f"{path}: line {opts.skip_rows + 1} (the header) is not valid {encoding} text; "
            "set source.options.encoding to the file's real encoding (often 'cp1252')"
        ) from None


def _header(path: Path, head: bytes, opts: CsvOptions) -> tuple[list[str], str]:
    """Column names and the delimiter (sniffed when 'auto'), refusing a wrong delimiter."""
    line = _header_line(path, head, opts)
    delimiter = opts.delimiter if opts.delimiter != "auto" else _sniff(path, line)
    names = [n.strip() for n in next(csv.reader(io.StringIO(line), delimiter=delimiter))]
    if len(names) == 1:
        found = [d for d in DELIMITERS if d != delimiter and d in names[0]]
        if found:
            raise SourceError(
                f"{path}: the header is one single column ({names[0][:60]!r}) that contains "
                f"{found[0]!r}: the file seems to be {_LABELS[found[0]]}-separated, not "
                f"{_LABELS[delimiter]}-separated; set source.options.delimiter = {found[0]!r}"
            )
    if len(set(names)) != len(names):
        dupes = sorted({n for n in names if names.count(n) > 1})
        raise SourceError(f"{path}: the header repeats column names {dupes}; make them unique")
    return names, delimiter


def _sniff(path: Path, line: str) -> str:
    counts = {d: len(next(csv.reader(io.StringIO(line), delimiter=d))) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: counts[d])
    if counts[best] == 1:
        raise SourceError(
            f"{path}: cannot detect the delimiter: the header has no ';', ',' or tab; "
            "set source.options.delimiter"
        )
    return best


def _check_named_columns(path: Path, names: list[str], opts: CsvOptions) -> None:
    named = [(key, getattr(opts, key)) for key in ("x", "y", "wkt")]
    for key, column in [*named, *(("columns", c) for c in opts.columns or ())]:
        if column is not None and column not in names:
            raise SourceError(
                f"{path}: has no column {column!r} (source.options.{key}); "
                f"the header has: {', '.join(names)}"
            )


def _parse(path: Path, names: list[str], delimiter: str, opts: CsvOptions) -> pa.Table:
    """Parse all rows; coordinates as float64 when clean, else again as text for per-row checks."""
    try:
        return _arrow_read(path, names, delimiter, opts, coords_as_float=True)
    except pa.ArrowInvalid as err:
        if opts.x is None or "conversion error" not in str(err).lower():
            raise SourceError(f"{path}: {_arrow_message(err)}") from None
    try:
        return _arrow_read(path, names, delimiter, opts, coords_as_float=False)
    except pa.ArrowInvalid as err:
        raise SourceError(f"{path}: {_arrow_message(err)}") from None


def _arrow_read(
    path: Path, names: list[str], delimiter: str, opts: CsvOptions, *, coords_as_float: bool
) -> pa.Table:
    keep = [*(opts.columns or names), *opts.geometry_columns]
    types = {name: pa.large_binary() for name in names}
    if coords_as_float and opts.x is not None:
        types[opts.x] = types[opts.y] = pa.float64()
    return pacsv.read_csv(
        path,
        read_options=pacsv.ReadOptions(
            column_names=names, skip_rows=opts.skip_rows + 1, block_size=_BLOCK
        ),
        parse_options=pacsv.ParseOptions(delimiter=delimiter),
        convert_options=pacsv.ConvertOptions(
            column_types=types,
            include_columns=list(dict.fromkeys(keep)),
            decimal_point=opts.decimal,
            null_values=[""],
            strings_can_be_null=True,
            quoted_strings_can_be_null=False,
        ),
        memory_pool=_POOL,
    )


def _arrow_message(err: pa.ArrowInvalid) -> str:
    text = str(err)
    if "Expected" in text and "columns" in text:
        return (
            f"a row has a different number of fields than the header ({text}); check the "
            "delimiter and that text containing the delimiter is quoted"
        )
    return f"cannot parse as CSV: {text}"


def _table_encoding(table: pa.Table, opts: CsvOptions) -> str:
    """The declared encoding, or for 'auto' UTF-8 when every text column is valid UTF-8."""
    if opts.encoding != "auto":
        return opts.encoding
    for column in table.columns:
        if pa.types.is_large_binary(column.type) and not all(map(_is_utf8, column.chunks)):
            return "cp1252"
    return "utf-8"


def _parser_pool() -> pa.MemoryPool:
    """jemalloc returns the parser's freed scratch to the OS more fully than mimalloc."""
    try:
        return pa.jemalloc_memory_pool()
    except NotImplementedError:
        return pa.default_memory_pool()


_POOL = _parser_pool()


def _release() -> None:
    """Hand freed parser memory back to the OS so Python and GEOS can reuse it (lower peak)."""
    _POOL.release_unused()


def _geometry_input(
    path: Path, column: pa.ChunkedArray, name: str, encoding: str, opts: CsvOptions
) -> pa.ChunkedArray:
    """A coordinate/WKT column as parsed floats or decoded text."""
    if pa.types.is_floating(column.type):
        return column
    first_line = opts.skip_rows + 2
    return decode_column(column, encoding, path=path, column_name=name, first_line=first_line)


def _text_frame(
    path: Path, columns: dict[str, pa.ChunkedArray], encoding: str, opts: CsvOptions
) -> pd.DataFrame:
    """The non-geometry columns as pandas strings, decoded (and released) one by one."""
    first_line = opts.skip_rows + 2  # 1-based line of the first data row
    frame = {}
    for name in list(columns):
        raw = columns.pop(name)
        text = decode_column(raw, encoding, path=path, column_name=name, first_line=first_line)
        frame[name] = pd.arrays.ArrowStringArray(text)
        if encoding != "utf-8":
            del raw
            _release()
    return pd.DataFrame(frame, copy=False)


# --- text: validate or transcode one raw column buffer at a time ---------------------------------


def _is_utf8(data: bytes | pa.Array) -> bool:
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
            f"{where.path}: line {where.line_of(offsets, err.start)} has byte "
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
            f"{where.path}: line {where.line_of(offsets, int(pairs[0]))} contains UTF-8 text "
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
    valid_before = _is_utf8(bytes(data[:position])) and bool((data[:position] >= 0x80).any())
    hint = (
        "the file mixes encodings (earlier lines are UTF-8); save it again in one encoding"
        if valid_before
        else "the file seems to be cp1252/latin-1 (as Excel saves CSV): set "
        "source.options.encoding = 'cp1252'"
    )
    return SourceError(
        f"{where.path}: line {where.line_of(offsets, position)} is not valid UTF-8 "
        f"(byte 0x{data[position]:02X} in column {where.column!r}); {hint}"
    )

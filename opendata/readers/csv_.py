"""CSV as Nordic municipalities publish it: `;` or `,`, decimal commas, cp1252 or UTF-8 (BOM).

The file is parsed once by `pyarrow.csv` (multithreaded) with every text column kept as raw bytes;
each column is then validated or transcoded to UTF-8 as one buffer, and coordinates are parsed and
turned into points vectorised. No per-row Python runs on the happy path.
"""

from __future__ import annotations

import codecs
import csv
import io
import logging
import re
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
from opendata.readers.text import decode_column, is_utf8
from opendata.readers.vector import check_crs, table_geometry, to_geodataframe

log = logging.getLogger(__name__)

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


def _load(
    path: Path, crs: str | None, options: Mapping[str, Any]
) -> tuple[CsvOptions, pa.Table, str]:
    """Checked options, every row parsed (text as raw bytes) and the text encoding."""
    opts = CsvOptions.parse(options)
    if opts.geometry_columns:
        check_crs(crs)
    head = _read_head(path)
    names, delimiter = _header(path, head, opts)
    _check_named_columns(path, names, opts)
    table = _parse(path, names, delimiter, opts)
    if table.num_rows == 0:
        raise SourceError(f"{path.name}: has a header but no data rows; export the table again")
    return opts, table, _table_encoding(table, opts)


def read_csv(path: Path, *, crs: str | None, options: Mapping[str, Any]) -> gpd.GeoDataFrame:
    """Read a delimited text file; all non-geometry columns come back as pandas strings."""
    opts, table, encoding = _load(path, crs, options)
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


@dataclass(frozen=True)
class PointColumns:
    """A CSV source of points as the columnar pipeline takes it: the raw text columns (in header
    order, coordinate columns removed; `text` decodes one) and the coordinates in the source CRS."""

    raw: dict[str, pa.ChunkedArray]
    x: np.ndarray
    y: np.ndarray
    encoding: str
    path: Path
    first_line: int

    def text(self, name: str) -> pa.ChunkedArray:
        """Column `name` decoded and checked exactly as `read_csv` does it (same errors)."""
        return decode_column(
            self.raw[name], self.encoding, path=self.path, column_name=name,
            first_line=self.first_line,
        )  # fmt: skip


def read_point_columns(
    path: Path, *, crs: str | None, options: Mapping[str, Any]
) -> PointColumns | None:
    """The source as raw text columns plus x/y arrays, when every coordinate is a finite
    number; None otherwise (the GeoDataFrame reader then names each unusable row)."""
    opts, table, encoding = _load(path, crs, options)
    if opts.x is None or opts.y is None or "geometry" in table.column_names:
        return None
    coords = [table.column(c) for c in (opts.x, opts.y)]
    if not all(pa.types.is_floating(c.type) and c.null_count == 0 for c in coords):
        return None
    x, y = (c.to_numpy() for c in coords)
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        return None
    raw = {name: table.column(name) for name in table.column_names if name not in (opts.x, opts.y)}
    return PointColumns(raw, x, y, encoding, path, opts.skip_rows + 2)


def _read_head(path: Path) -> bytes:
    with path.open("rb") as fh:
        head = fh.read(_HEAD)
    if not head.strip().removeprefix(codecs.BOM_UTF8).strip():
        raise SourceError(
            f"{path.name}: the file is empty; export the table again with a header row"
        )
    return head


def _header_line(path: Path, head: bytes, opts: CsvOptions) -> str:
    """The header row as text (after `skip_rows`), decoded in the declared encoding."""
    lines = head.removeprefix(codecs.BOM_UTF8).splitlines()
    if len(lines) <= opts.skip_rows:
        raise SourceError(f"{path.name}: has no header row after skipping {opts.skip_rows} rows")
    raw = lines[opts.skip_rows]
    encoding = opts.encoding if opts.encoding != "auto" else ("utf-8" if is_utf8(raw) else "cp1252")
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError:
        raise SourceError(
            f"{path.name}: line {opts.skip_rows + 1} (the header) is not valid {encoding} text; "
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
                f"{path.name}: the header is one single column ({names[0][:60]!r}) that contains "
                f"{found[0]!r}: the file seems to be {_LABELS[found[0]]}-separated, not "
                f"{_LABELS[delimiter]}-separated; set source.options.delimiter = {found[0]!r}"
            )
    if len(set(names)) != len(names):
        dupes = sorted({n for n in names if names.count(n) > 1})
        raise SourceError(f"{path.name}: the header repeats column names {dupes}; make them unique")
    return names, delimiter


def _sniff(path: Path, line: str) -> str:
    counts = {d: len(next(csv.reader(io.StringIO(line), delimiter=d))) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: counts[d])
    if counts[best] == 1:
        raise SourceError(
            f"{path.name}: cannot detect the delimiter: the header has no ';', ',' or tab; "
            "set source.options.delimiter"
        )
    return best


def _check_named_columns(path: Path, names: list[str], opts: CsvOptions) -> None:
    named = [(key, getattr(opts, key)) for key in ("x", "y", "wkt")]
    for key, column in [*named, *(("columns", c) for c in opts.columns or ())]:
        if column is not None and column not in names:
            raise SourceError(
                f"{path.name}: has no column {column!r} (source.options.{key}); "
                f"the header has: {', '.join(names)}"
            )


def _parse(path: Path, names: list[str], delimiter: str, opts: CsvOptions) -> pa.Table:
    """Parse all rows; coordinates as float64 when clean, else again as text for per-row checks."""
    try:
        return _arrow_read(path, names, delimiter, opts, coords_as_float=True)
    except pa.ArrowInvalid as err:
        if opts.x is None or "conversion error" not in str(err).lower():
            raise _parse_error(path, names, delimiter, opts, err) from None
    try:
        return _arrow_read(path, names, delimiter, opts, coords_as_float=False)
    except pa.ArrowInvalid as err:
        raise _parse_error(path, names, delimiter, opts, err) from None


def _arrow_read(
    path: Path, names: list[str], delimiter: str, opts: CsvOptions, *, coords_as_float: bool
) -> pa.Table:
    keep = [*(opts.columns or names), *opts.geometry_columns]
    types = {name: pa.large_binary() for name in names}
    if coords_as_float and opts.x is not None:
        types[opts.x] = types[opts.y] = pa.float64()
    # A stream, not the path: given a path Arrow would inflate a `.gz`/`.bz2`/`.zst` file by its
    # name, a decompression bomb nothing here has measured.
    with pa.input_stream(str(path), compression=None) as stream:
        return pacsv.read_csv(
            stream,
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


def _parse_error(
    path: Path, names: list[str], delimiter: str, opts: CsvOptions, err: pa.ArrowInvalid
) -> SourceError:
    """The parser's failure in words; its own message (which quotes the row) is only logged."""
    text = str(err)
    log.debug("pyarrow could not parse %s: %s", path, text)
    counts = re.search(r"Expected (\d+) columns, got (\d+)", text)
    if counts:
        line = _first_bad_line(path, len(names), delimiter, opts)
        where = f"line {line}" if line else "a row"
        return SourceError(
            f"{path.name}: {where} has {counts[2]} fields but the header has {counts[1]}; check "
            "the delimiter and that text containing the delimiter is quoted"
        )
    return SourceError(
        f"{path.name}: cannot be parsed as CSV (perhaps a quote that is never closed, or a "
        "binary file); export the table again (run with --debug for the parser's message)"
    )


def _first_bad_line(path: Path, columns: int, delimiter: str, opts: CsvOptions) -> int | None:
    """The line number of the first row with the wrong number of fields (a single-threaded
    parse, only after a failure: the multithreaded one does not know line numbers)."""
    found: list[int] = []

    def stop(row: pacsv.InvalidRow) -> str:
        found.append(row.number)
        return "error"

    try:
        with pa.input_stream(str(path), compression=None) as stream:
            pacsv.read_csv(
                stream,
                read_options=pacsv.ReadOptions(
                    column_names=[f"c{i}" for i in range(columns)],
                    skip_rows=opts.skip_rows + 1,
                    use_threads=False,
                ),
                parse_options=pacsv.ParseOptions(delimiter=delimiter, invalid_row_handler=stop),
                convert_options=pacsv.ConvertOptions(
                    column_types=dict.fromkeys([f"c{i}" for i in range(columns)], pa.binary())
                ),
            )
    except pa.ArrowInvalid:
        pass
    return found[0] if found and found[0] else None


def _table_encoding(table: pa.Table, opts: CsvOptions) -> str:
    """The declared encoding, or for 'auto' UTF-8 when every text column is valid UTF-8."""
    if opts.encoding != "auto":
        return opts.encoding
    for column in table.columns:
        if pa.types.is_large_binary(column.type) and not all(map(is_utf8, column.chunks)):
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

"""Excel workbooks (.xlsx) as offices keep them: one sheet, a header row, maybe coordinates.

Cells come back as text (numbers without a spurious `.0`, dates as ISO 8601), like the CSV reader,
so type coercion happens once, later, in the pipeline. Coordinates may be real numbers or
decimal-comma text.
"""

from __future__ import annotations

import datetime as dt
import zipfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import geopandas as gpd
import openpyxl
import pandas as pd
import pyarrow as pa
from openpyxl.utils.exceptions import InvalidFileException

from opendata.errors import SourceError, SpecError
from opendata.readers import check_options
from opendata.readers.archive import check_archive, is_archive
from opendata.readers.vector import check_crs, table_geometry, to_geodataframe

OPTIONS = {"sheet": str, "x": str, "y": str, "wkt": str, "header_row": int}


def read_xlsx(path: Path, *, crs: str | None, options: Mapping[str, Any]) -> gpd.GeoDataFrame:
    """Read one sheet (default: the first) with its header at `header_row` (default 1)."""
    check_options(options, OPTIONS)
    geometry_columns = _geometry_columns(options)
    if geometry_columns:
        check_crs(crs)
    header_row = options.get("header_row", 1)
    if header_row < 1:
        raise SpecError(f"source.options.header_row: expected 1 or more, got {header_row}")
    names, rows = _sheet_rows(path, options.get("sheet"), header_row)
    for key in ("x", "y", "wkt"):
        if key in options and options[key] not in names:
            raise SourceError(
                f"{path.name}: has no column {options[key]!r} (source.options.{key}); "
                f"row {header_row} has: {', '.join(names)}"
            )
    columns = {name: [row[i] for row in rows] for i, name in enumerate(names)}
    text = {n: _text(v) for n, v in columns.items() if n not in geometry_columns}
    frame = pd.DataFrame({n: pd.arrays.ArrowStringArray(a) for n, a in text.items()}, copy=False)
    if not geometry_columns:
        return gpd.GeoDataFrame(frame)
    raw = {name: _coordinate_text(columns[name]) for name in geometry_columns}
    x, y, wkt = options.get("x"), options.get("y"), options.get("wkt")
    geometry, reasons = table_geometry(raw, x=x, y=y, wkt=wkt, decimal=",")
    return to_geodataframe(frame, geometry, reasons, crs=crs, path=path)


def _geometry_columns(options: Mapping[str, Any]) -> tuple[str, ...]:
    if ("x" in options) != ("y" in options):
        raise SpecError("source.options.x: 'x' and 'y' must be given together")
    if "x" in options and "wkt" in options:
        raise SpecError("source.options.wkt: give either 'wkt' or 'x'/'y', not both")
    return tuple(options[k] for k in ("x", "y", "wkt") if k in options)


def _sheet_rows(path: Path, sheet: str | None, header_row: int) -> tuple[list[str], list[tuple]]:
    """The header names and the non-empty data rows of one sheet."""
    workbook = _open(path)
    try:
        if sheet is not None and sheet not in workbook.sheetnames:
            raise SpecError(
                f"source.options.sheet: {path.name} has no sheet {sheet!r}; it has: "
                f"{', '.join(workbook.sheetnames)}"
            )
        cells = workbook[sheet] if sheet is not None else workbook.worksheets[0]
        rows = cells.iter_rows(min_row=header_row, values_only=True)
        header = next(rows, None)
        names = _names(path, header, header_row)
        data = [row[: len(names)] + (None,) * (len(names) - len(row)) for row in _filled(rows)]
    finally:
        workbook.close()
    if not data:
        raise SourceError(
            f"{path.name}: the sheet has a header in row {header_row} but no data rows"
        )
    return names, data


def _open(path: Path) -> openpyxl.Workbook:
    if is_archive(path):  # an .xlsx is a zip: checked before openpyxl inflates any part of it
        check_archive(path)
    try:
        return openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError):
        raise SourceError(
            f"{path.name}: is not a readable .xlsx workbook (damaged, or another format); save "
            "it from Excel or LibreOffice as 'Excel 2007-365 (.xlsx)'"
        ) from None


def _names(path: Path, header: tuple | None, header_row: int) -> list[str]:
    """Header cells as column names; trailing empty cells are dropped, inner ones refused."""
    cells = list(header or ())
    while cells and cells[-1] in (None, ""):
        cells.pop()
    if not cells:
        raise SourceError(f"{path.name}: row {header_row} (the header row) is empty")
    names = [str(c).strip() if c is not None else "" for c in cells]
    if "" in names:
        column = names.index("") + 1
        raise SourceError(
            f"{path.name}: header cell {column} in row {header_row} is empty; name it"
        )
    if len(set(names)) != len(names):
        dupes = sorted({n for n in names if names.count(n) > 1})
        raise SourceError(f"{path.name}: the header repeats column names {dupes}; make them unique")
    return names


def _filled(rows: Iterator[tuple]) -> Iterator[tuple]:
    """Rows that have at least one value (Excel keeps formatted but empty rows)."""
    return (row for row in rows if any(v not in (None, "") for v in row))


def _text(values: list[Any]) -> pa.Array:
    return pa.array([_cell_text(v) for v in values], pa.large_string())


def _cell_text(value: Any) -> str | None:
    """A cell as the text a person sees: 12 not 12.0, dates as ISO 8601, empty as null."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime) and value.time() == dt.time():
        return value.date().isoformat()
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return str(value).strip()


def _coordinate_text(values: list[Any]) -> pa.ChunkedArray:
    """Coordinate cells as text: numbers exactly (repr), text as typed, to parse in one go."""
    shown = [
        repr(float(v)) if isinstance(v, int | float) and not isinstance(v, bool) else v
        for v in values
    ]
    return pa.chunked_array([_text(shown)])

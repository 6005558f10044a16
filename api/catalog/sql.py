"""Blueprint `api.catalog.sql`: read-only DuckDB SQL over the current datasets
(`GET/POST /api/sql`).

The sandbox lives in `opendata.query.sql`; this module parses the request and renders the result as
JSON, CSV or Parquet. In JSON and CSV, BLOB columns whose values are all WKB geometries are
rendered as WKT; any other BLOB as lower-case hex (`opendata.query.sql.rows_of`).
"""

from __future__ import annotations

import csv
import io

import pyarrow as pa
import pyarrow.parquet as pq
from flask import Blueprint, Response, current_app, request

from api.http import ApiError, json_response
from opendata.query import sql as sandbox
from opendata.query import sql_process
from opendata.query.sql_check import SqlError
from opendata.settings import Settings

bp = Blueprint("sql", __name__)
CONFORMANCE: list[str] = []
FORMATS = {
    "json": "application/json",
    "csv": "text/csv; charset=utf-8",
    "parquet": "application/vnd.apache.parquet",
}


def _settings() -> Settings:
    return current_app.config["CIVIC_SETTINGS"]


def parse_request() -> tuple[str, str]:
    """The SQL text and output format from the query string, a JSON body or a form."""
    if request.method == "POST" and request.is_json:
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            raise ApiError(400, 'the JSON body must be an object like {"sql": "SELECT ..."}')
        text, fmt = body.get("sql"), body.get("format", request.args.get("format", "json"))
    else:
        values = request.form if request.method == "POST" else request.args
        text = values.get("sql", request.args.get("sql"))
        fmt = values.get("format", request.args.get("format", "json"))
    if not isinstance(text, str) or not text.strip():
        raise ApiError(400, "give the query in the 'sql' parameter (or a JSON body {\"sql\": ...})")
    if fmt not in FORMATS:
        raise ApiError(400, f"format must be one of {', '.join(FORMATS)}")
    return text, fmt


def _csv(table: pa.Table) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(table.column_names)
    for row in sandbox.rows_of(table):
        writer.writerow(["" if v is None else v for v in row])
    return buffer.getvalue()


def _parquet(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, compression="zstd")
    return sink.getvalue().to_pybytes()


def render(result: sandbox.SqlResult, fmt: str, limits: sandbox.Limits) -> Response:
    """The result in the requested format; truncation is flagged in the body and a header."""
    table = result.table
    if fmt == "json":
        resp = json_response(
            {
                "columns": [
                    {"name": n, "type": t}
                    for n, t in zip(table.column_names, result.types, strict=True)
                ],
                "rows": sandbox.rows_of(table),
                "row_count": table.num_rows,
                "truncated": result.truncated,
                "max_rows": limits.max_rows,
                "elapsed_ms": result.elapsed_ms,
            }
        )
    elif fmt == "csv":
        resp = Response(_csv(table), mimetype="text/csv")
        resp.headers["Content-Disposition"] = 'attachment; filename="query.csv"'
    else:
        resp = Response(_parquet(table), mimetype=FORMATS["parquet"])
        resp.headers["Content-Disposition"] = 'attachment; filename="query.parquet"'
    resp.headers["X-Truncated"] = "true" if result.truncated else "false"
    resp.headers["Cache-Control"] = "no-store"
    return resp


@bp.route("/api/sql", methods=["GET", "POST"])
def query() -> Response:
    """Run one read-only query in a fresh sandbox."""
    text, fmt = parse_request()
    settings = _settings()
    limits = sandbox.Limits.of(settings)
    try:
        result = sql_process.run_sql(text, sandbox.sources(settings), limits)
    except SqlError as err:
        raise ApiError(err.status, str(err), title=err.title) from None
    return render(result, fmt, limits)


def openapi_paths(settings: object) -> dict:
    """OpenAPI 3.0 path items this blueprint serves."""
    problem = {"content": {"application/problem+json": {}}}
    responses = {
        "200": {
            "description": "Rows (JSON `{columns, rows, truncated}`), CSV or Parquet",
            "content": {m.split(";")[0]: {} for m in FORMATS.values()},
        },
        "400": {"description": "Invalid SQL, or a statement the sandbox refuses", **problem},
        "422": {"description": "Time or memory limit exceeded", **problem},
    }
    fmt = {"name": "format", "in": "query", "schema": {"type": "string", "enum": list(FORMATS)}}
    summary = (
        "Read-only SQL (DuckDB) over every current dataset; one view per dataset, "
        "named like the dataset; geometry as WKB"
    )
    return {
        "/api/sql": {
            "get": {
                "tags": ["SQL"],
                "summary": summary,
                "operationId": "sqlGet",
                "parameters": [
                    {
                        "name": "sql",
                        "in": "query",
                        "required": True,
                        "schema": {"type": "string"},
                        "example": "SHOW TABLES",
                    },
                    fmt,
                ],
                "responses": responses,
            },
            "post": {
                "tags": ["SQL"],
                "summary": summary,
                "operationId": "sqlPost",
                "parameters": [fmt],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["sql"],
                                "properties": {"sql": {"type": "string"}, "format": fmt["schema"]},
                            }
                        },
                        "application/x-www-form-urlencoded": {
                            "schema": {"type": "object", "properties": {"sql": {"type": "string"}}}
                        },
                    },
                },
                "responses": responses,
            },
        }
    }

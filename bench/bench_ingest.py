"""Benchmark: a generated 1,000,000-row Nordic CSV to published GeoParquet.

Runs, side by side on the same file, each in a fresh subprocess (so peak memory is its own):
  * ours:      `opendata.ingest.pipeline.ingest` as `civic ingest` runs it (read, privacy scan,
               validate, reproject to EPSG:4326, Hilbert sort, GeoParquet 1.1 with bbox covering,
               catalog commit); a clean point CSV like this one takes the columnar path
  * ours, general pipeline: the same with `CIVIC_COLUMNAR=0` (the GeoDataFrame pipeline that
               every other source, and any CSV needing a row-level decision, goes through)
  * geopandas: the plain path `pandas.read_csv -> points_from_xy -> to_parquet`
  * ogr2ogr:   only where the installed GDAL can write Parquet (Debian's 3.6 cannot).
Prints medians of N runs, rows/s, peak RSS and ratios; appends nothing by itself — copy the
table into docs/benchmarks.md.  Usage: python bench/bench_ingest.py [--rows 1000000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"

SPEC = """
[metadata]
title = {{ fi = "Mittauspisteet", sv = "Mätpunkter", en = "Measurement points" }}
description = {{ en = "Generated benchmark data" }}
keywords = {{ en = ["benchmark"] }}
themes = ["TECH"]
publisher = {{ name = "Bench" }}
contact = {{ name = "Bench", email = "bench@example.org" }}
license = "CC0-1.0"
attribution = "generated"
update_frequency = "never"

[source]
path = "{csv}"
format = "csv"
crs = "EPSG:3067"
options = {{ delimiter = ";", decimal = ",", encoding = "cp1252", x = "x", y = "y" }}

[schema]
primary_key = "id"
geometry = "Point"

[[schema.fields]]
name = "id"
type = "integer"
required = true
unique = true

[[schema.fields]]
name = "nimi"
type = "string"

[[schema.fields]]
name = "luokka"
type = "string"
allowed = ["koulu", "kirjasto", "päiväkoti", "apteekki", "kauppa"]

[[schema.fields]]
name = "kunta"
type = "string"

[[schema.fields]]
name = "postinumero"
type = "string"

[[schema.fields]]
name = "maara"
type = "integer"
min = 0

[[schema.fields]]
name = "arvo"
type = "float"

[[schema.fields]]
name = "pvm"
type = "date"

[quality]
max_reject_fraction = 0.0
"""

OURS = """
import sys, time
from pathlib import Path
from opendata.settings import Settings
from opendata.ingest.specs import load_spec
from opendata.ingest.pipeline import ingest
work = Path(sys.argv[1])
settings = Settings(data_dir=work / "data", datasets_dir=work, source_roots=(work,),
                    columnar=sys.argv[2] == "1")
t = time.perf_counter()
result = ingest(load_spec(work / "points.toml"), settings)
elapsed = time.perf_counter() - t
hwm = int(next(x for x in open("/proc/self/status") if x.startswith("VmHWM")).split()[1])  # KiB
print(elapsed, result.rows, hwm)
"""

GEOPANDAS = """
import sys, time
import pandas as pd, geopandas as gpd
t = time.perf_counter()
df = pd.read_csv(sys.argv[1], sep=";", decimal=",", encoding="cp1252")
gdf = gpd.GeoDataFrame(df, geometry=gpd.points_from_xy(df["x"], df["y"]), crs="EPSG:3067")
gdf.to_parquet(sys.argv[2])
elapsed = time.perf_counter() - t
hwm = int(next(x for x in open("/proc/self/status") if x.startswith("VmHWM")).split()[1])  # KiB
print(elapsed, len(gdf), hwm)
"""


def make_csv(path: Path, rows: int) -> Path:
    """About 10 columns as a Finnish municipality exports them; deterministic."""
    if path.exists():
        return path
    rng = np.random.default_rng(42)
    names = np.array(["Ähtäri", "Öljymäki", "Åkerö", "Tõnismägi", "Müllerintie", "Kauppatori"])
    frame = pd.DataFrame(
        {
            "id": np.arange(1, rows + 1),
            "nimi": names[rng.integers(0, len(names), rows)],
            "luokka": np.array(["koulu", "kirjasto", "päiväkoti", "apteekki", "kauppa"])[
                rng.integers(0, 5, rows)
            ],
            "kunta": "Helsinki",
            "postinumero": rng.integers(100, 990, rows).astype(str),
            "maara": rng.integers(0, 1000, rows),
            "arvo": np.round(rng.normal(100, 20, rows), 3),
            "pvm": pd.Timestamp("2024-01-01")
            + pd.to_timedelta(rng.integers(0, 365, rows), unit="D"),
            "x": np.round(rng.uniform(370_000, 400_000, rows), 2),
            "y": np.round(rng.uniform(6_665_000, 6_690_000, rows), 2),
        }
    )
    frame["pvm"] = frame["pvm"].dt.strftime("%Y-%m-%d")
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, sep=";", decimal=",", index=False, encoding="cp1252")
    return path


def run(code: str, *args: str) -> tuple[float, int, float]:
    """Run a snippet in a fresh interpreter; returns (seconds, rows, peak RSS MiB)."""
    out = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
    ).stdout.split()
    return float(out[0]), int(out[1]), int(out[2]) / 1024


def bench_ours(csv: Path, columnar: bool = True) -> tuple[float, int, float]:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        shutil.copy(csv, work / "points.csv")
        (work / "points.toml").write_text(SPEC.format(csv="points.csv"), encoding="utf-8")
        return run(OURS, str(work), "1" if columnar else "0")


def bench_ours_general(csv: Path) -> tuple[float, int, float]:
    return bench_ours(csv, columnar=False)


def bench_geopandas(csv: Path) -> tuple[float, int, float]:
    with tempfile.TemporaryDirectory() as tmp:
        return run(GEOPANDAS, str(csv), str(Path(tmp) / "out.parquet"))


def ogr_has_parquet() -> bool:
    if not shutil.which("ogr2ogr"):
        return False
    formats = subprocess.run(["ogr2ogr", "--formats"], capture_output=True, text=True).stdout
    return "Parquet" in formats


def bench_ogr(csv: Path) -> tuple[float, int, float] | None:
    """GDAL's CSV driver cannot read decimal-comma coordinates, and needs a Parquet driver."""
    if not ogr_has_parquet():
        return None
    code = """
    import sys, time, resource, subprocess
    t = time.perf_counter()
    subprocess.run(["ogr2ogr", "-f", "Parquet", sys.argv[2], sys.argv[1],
                    "-oo", "SEPARATOR=SEMICOLON", "-oo", "X_POSSIBLE_NAMES=x",
                    "-oo", "Y_POSSIBLE_NAMES=y", "-a_srs", "EPSG:3067"], check=True)
    print(time.perf_counter() - t, 0, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
    """
    with tempfile.TemporaryDirectory() as tmp:
        return run(code, str(csv), str(Path(tmp) / "out.parquet"))


def median_of(fn, csv: Path, repeat: int) -> dict[str, float]:
    runs = [fn(csv) for _ in range(repeat)]
    return {
        "seconds": statistics.median(r[0] for r in runs),
        "rows": runs[0][1],
        "peak_mib": statistics.median(r[2] for r in runs),
        "all_seconds": [r[0] for r in runs],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    csv = make_csv(OUT / f"nordic_{args.rows}.csv", args.rows)
    size = csv.stat().st_size / 2**20
    results = {
        "ours": median_of(bench_ours, csv, args.repeat),
        "geopandas": median_of(bench_geopandas, csv, args.repeat),
        "ours, general pipeline": median_of(bench_ours_general, csv, args.repeat),
    }
    ogr = bench_ogr(csv)
    print(
        f"\nIngest benchmark: {args.rows:,} rows, {size:.0f} MiB Nordic CSV, "
        f"median of {args.repeat}\n"
    )
    print("| path | median s | rows/s | peak RSS MiB |")
    print("| --- | ---: | ---: | ---: |")
    for name, r in results.items():
        print(
            f"| {name} | {r['seconds']:.2f} | {args.rows / r['seconds']:,.0f} "
            f"| {r['peak_mib']:.0f} |"
        )
    if ogr is None:
        print(
            "| ogr2ogr | n/a: this GDAL has no Parquet driver"
            " (and its CSV driver reads no decimal comma) | | |"
        )
    ours, ref = results["ours"], results["geopandas"]
    print(
        f"\nspeed-up vs geopandas: {ref['seconds'] / ours['seconds']:.2f}x (target >= 2x); "
        f"memory ratio ours/geopandas: {ours['peak_mib'] / ref['peak_mib']:.2f} (target <= 1)"
    )
    (OUT / "bench_ingest.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()

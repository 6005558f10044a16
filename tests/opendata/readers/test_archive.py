"""Archives are judged from their directory before anything is inflated or handed to GDAL or
openpyxl: zip slip, symbolic links and zip bombs are refused by every reader that meets a zip."""

from __future__ import annotations

import gzip
import zipfile
from pathlib import Path

import pytest

from opendata.errors import SourceError
from opendata.readers import read_source
from opendata.readers.archive import MAX_MEMBERS, check_archive
from opendata.readers.vector import read_shapefile
from tests.opendata.malformed import (
    MiB,
    claim_sizes,
    many,
    member,
    shapefile_zip_with,
    symlink,
    zeros,
)
from tests.opendata.readers.fixtures_readers import places_csv, places_xlsx, zipped_shapefile

SLIP = "points outside the archive with '..' (zip slip)"
ABSOLUTE = "has an absolute path (zip slip)"
HOSTILE = [
    pytest.param(member("../../etc/cron.d/x"), "'../../etc/cron.d/x'", SLIP, id="dotdot"),
    pytest.param(member("data/../../x.shp"), "'data/../../x.shp'", SLIP, id="nested-dotdot"),
    pytest.param(member("..\\x.txt"), "'..\\\\x.txt'", SLIP, id="windows-dotdot"),
    pytest.param(member("/tmp/x"), "'/tmp/x'", ABSOLUTE, id="absolute"),
    pytest.param(member("\\\\srv\\x"), "'\\\\\\\\srv\\\\x'", ABSOLUTE, id="unc"),
    pytest.param(member("c:x.dll"), "'c:x.dll'", ABSOLUTE, id="drive"),
    pytest.param(
        symlink("data/a.txt", "/etc/shadow"), "'data/a.txt'", "is a symbolic link", id="link"
    ),
    pytest.param(
        member("data/x\x07.txt"),
        "'data/x\\x07.txt'",
        "has a control character in its name",
        id="bell",
    ),
    pytest.param(
        zeros("data/zeros.dbf", 9 * MiB),
        "'data/zeros.dbf'",
        "would unpack 1,027 times larger (9.0 KiB to 9.0 MiB; a possible zip bomb)",
        id="ratio",
    ),
]


@pytest.mark.parametrize(("extra", "shown", "why"), HOSTILE)
def test_a_hostile_member_refuses_the_whole_archive(
    tmp_path: Path, extra, shown: str, why: str
) -> None:
    path = shapefile_zip_with(tmp_path / "kohteet.zip", extra)
    with pytest.raises(SourceError) as err:
        read_shapefile(path, crs=None, options={})
    assert str(err.value) == (
        f"kohteet.zip: member {shown} {why}; the archive was refused and nothing was unpacked"
    )


def test_too_many_members_is_a_zip_bomb(tmp_path: Path) -> None:
    path = shapefile_zip_with(tmp_path / "k.zip", many(MAX_MEMBERS))
    with pytest.raises(SourceError, match=r"holds 1005 files \(more than 1000\)"):
        check_archive(path)


def test_headers_announcing_gigabytes_are_refused_before_anything_is_inflated(
    tmp_path: Path,
) -> None:
    # The members are a few bytes each; only the directory claims 1 GiB apiece. Inflating them
    # (zipfile's testzip, GDAL) would fail: refusal from the headers proves nothing was inflated.
    path = claim_sizes(zipped_shapefile(tmp_path / "k.zip"), 1 << 30)
    with pytest.raises(SourceError) as err:
        read_source(path, "shapefile", crs=None, options={})
    assert str(err.value) == (
        "k.zip: the archive would unpack to 5.0 GiB (more than 2.0 GiB); refused as a possible "
        "zip bomb, nothing was unpacked"
    )


def test_a_real_zipped_shapefile_passes_with_its_members(tmp_path: Path) -> None:
    names = check_archive(zipped_shapefile(tmp_path / "k.zip"))
    assert sorted(names) == [f"data/kohteet.{ext}" for ext in ("cpg", "dbf", "prj", "shp", "shx")]


def test_an_xlsx_workbook_bomb_is_refused_before_openpyxl_opens_it(tmp_path: Path) -> None:
    path = places_xlsx(tmp_path / "kohteet.xlsx")
    with zipfile.ZipFile(path, "a") as archive:
        zeros("xl/media/padding.bin", 9 * MiB)(archive)
    with pytest.raises(SourceError, match=r"^kohteet.xlsx: member 'xl/media/padding.bin' would"):
        read_source(path, "xlsx", crs="EPSG:3067", options={"sheet": "Kohteet", "x": "x", "y": "y"})


def test_a_real_xlsx_workbook_passes_the_archive_check(tmp_path: Path) -> None:
    path = places_xlsx(tmp_path / "kohteet.xlsx")
    frame = read_source(
        path, "xlsx", crs="EPSG:3067", options={"sheet": "Kohteet", "x": "x", "y": "y"}
    )
    assert len(frame) == 6


def test_a_zip_read_as_geojson_is_checked_before_gdal_opens_it(tmp_path: Path) -> None:
    path = shapefile_zip_with(tmp_path / "k.zip", member("../evil.json"))
    with pytest.raises(SourceError, match=r"^k.zip: member '../evil.json' points outside"):
        read_source(path, "geojson", crs=None, options={})


def test_a_gzipped_csv_is_not_inflated_behind_the_spec_s_back(tmp_path: Path) -> None:
    # Given a path ending in .gz, Arrow would decompress it (an unmeasured bomb): a compressed
    # stream is refused by its content, whatever its name.
    packed = places_csv(tmp_path / "p.csv")
    packed.write_bytes(gzip.compress(packed.read_bytes()))
    options = {"delimiter": ";", "decimal": ",", "encoding": "cp1252", "x": "x", "y": "y"}
    with pytest.raises(SourceError) as err:
        read_source(packed, "csv", crs="EPSG:3067", options=options)
    assert str(err.value) == (
        "p.csv: is a compressed file (gzip); unpack it and point source.path at the unpacked file"
    )

"""Bundled scenarios on the bundled city: each moves its indicators in the expected DIRECTION;
bad edits stop before anything runs; results are reproducible and carry their provenance."""

from __future__ import annotations

import copy
import pickle
import re

import geopandas as gpd
import numpy as np
import pytest
import shapely

from opendata.errors import SpecError
from twin.scenarios.edits import Disconnected
from twin.scenarios.model import ScenarioSpec
from twin.scenarios.run import run_scenario
from twin.scenarios.spec import parse_scenario

from .conftest import bundled_spec


def variant_of(data: dict, **edit) -> ScenarioSpec:
    spec = copy.deepcopy(data)
    spec["edits"] = [edit]
    return parse_scenario(spec)


def test_closure_puts_zero_flow_on_the_closed_links(results):
    links = results["close_mannerheimintie"].links
    closed = links[links["edit"] == "closed"]
    assert len(closed) > 10
    assert (closed["flow_scen"] == 0).all() and closed["flow_base"].sum() > 1000


def test_closure_raises_vehicle_hours_beyond_the_convergence_noise(results):
    result = results["close_mannerheimintie"]
    gaps = result.convergence
    noise = max(gaps["baseline"]["gap"], gaps["scenario"]["gap"]) * result.total("vehicle_hours")
    assert result.total("vehicle_hours", "change") > 100 * noise
    assert result.total("person_trips", "change") == pytest.approx(0, abs=1e-6)
    assert result.total("trips_car", "change") < 0  # a few car trips change mode or destination


def test_closure_makes_some_trips_slower_and_none_much_faster(results):
    od = results["close_mannerheimintie"].od
    assert od["pairs_slower_1min"] > 0 and od["pairs_faster_1min"] == 0
    assert od["mean_change_min"] > 0


def test_30kmh_lowers_mean_speed(results):
    assert results["centre_30kmh"].total("mean_speed", "change") < 0


def test_30kmh_lowers_lden_at_buildings_by_the_changed_streets(results):
    result = results["centre_30kmh"]
    links = result.links.to_crs("EPSG:3067")
    changed = links[links["edit"] == "changed"].union_all()
    buildings = result.buildings.to_crs("EPSG:3067")
    near = buildings[buildings.distance(changed) < 20]
    assert len(near) > 20
    assert near["d_lden"].mean() < -0.5
    assert (near["d_lden"] < 0).mean() > 0.8


def test_30kmh_only_lowers_speeds(results):
    links = results["centre_30kmh"].links
    changed = links[links["edit"] == "changed"]
    assert len(changed) > 50
    assert (changed["speed_scen"] <= 30.0 + 1e-9).all()


def test_new_block_raises_demand_and_trips_from_its_zone(results):
    result = results["new_block_toolonlahti"]
    # 800 dwellings x 1.8 persons x 2.6 trips per resident x 10 % in the peak hour
    assert result.total("person_trips", "change") == pytest.approx(800 * 1.8 * 2.6 * 0.1)
    assert result.total("trips", "change") > 0
    zones = result.zones.to_crs("EPSG:3067")
    site = gpd.GeoSeries([shapely.Point(24.9420, 60.1745)], crs=4326).to_crs(3067).iloc[0]
    home = zones.iloc[int(np.argmin(zones.distance(site)))]
    assert home["trips_from_scen"] > home["trips_from_base"]
    assert home["residents_scen"] - home["residents_base"] == pytest.approx(800 * 1.8)


def test_new_block_residents_gain_walk_access(results):
    result = results["new_block_toolonlahti"]
    assert result.total("walk_grocery_15min", "change") > 0


def test_cordon_charge_lowers_flow_entering_the_cordon(results):
    links = results["cordon_esplanadi"].links
    charged = links[links["edit"] == "charged"]
    assert len(charged) > 5
    assert charged["flow_scen"].sum() < charged["flow_base"].sum()


def test_both_runs_converge_to_the_same_target_gap(results):
    for result in results.values():
        gaps = result.convergence
        assert gaps["baseline"]["converged"] and gaps["scenario"]["converged"]
        assert gaps["baseline"]["gap"] <= gaps["target_gap"] >= gaps["scenario"]["gap"]


def test_rerunning_gives_identical_numbers_and_provenance(bundled, results):
    spec = bundled_spec("close_mannerheimintie")
    again = run_scenario(bundled, spec)  # a fresh baseline too
    first = results["close_mannerheimintie"]
    assert again.totals.equals(first.totals)
    assert again.links.drop(columns="geometry").equals(first.links.drop(columns="geometry"))
    assert again.to_dict() == first.to_dict()


def test_provenance_records_spec_hash_code_version_and_dataset_versions(results):
    prov = results["close_mannerheimintie"].to_dict()["provenance"]
    assert prov["spec_sha256"] == bundled_spec("close_mannerheimintie").sha256
    assert prov["code_version"]
    assert prov["datasets"] == {"buildings": 1, "roads": 1, "services": 1, "stops": 1}
    assert prov["demand"]["model"] == "elastic" and prov["demand"]["sensitivity"] > 0


def test_summary_is_plain_json(results):
    import json

    summary = results["cordon_esplanadi"].to_dict()
    again = json.loads(json.dumps(summary))
    assert again["totals"]["vehicle_km"]["unit"] == "veh*km/h"
    assert again["edits"][0]["type"] == "cordon_charge"


def test_pinning_the_current_versions_changes_nothing(bundled, baseline, results):
    data = copy.deepcopy(bundled_spec("close_mannerheimintie").raw)
    data["baseline"] = {"roads": 1, "buildings": 1}
    pinned = run_scenario(bundled, parse_scenario(data))
    assert pinned.totals.equals(results["close_mannerheimintie"].totals)


SQUARE = "POLYGON ((24.938 60.1665, 24.944 60.1665, 24.944 60.17, 24.938 60.17, 24.938 60.1665))"
FAR = "POLYGON ((25.10 60.20, 25.11 60.20, 25.11 60.21, 25.10 60.21, 25.10 60.20))"
BAD_EDITS = {
    "selection matching nothing": (
        {"type": "close", "name": "Kuninkaantie"},
        "edits[0] (close): the selection matches no road links",
    ),
    "polygon outside the network": (
        {"type": "change", "polygon": FAR, "speed_kmh": 30},
        "edits[0] (change).polygon: the geometry lies outside the network",
    ),
    "closure that disconnects zones": (
        {"type": "close", "polygon": SQUARE},
        "edits[0] (close): the closure disconnects",
    ),
    "cordon nobody enters": (
        {"type": "cordon_charge", "polygon": FAR, "amount": 2},
        "outside the network",
    ),
    "new link too far from any node": (
        {
            "type": "add_link",
            "geometry": "LINESTRING (24.9450 60.1690, 24.9460 60.1690)",
            "speed_kmh": 30,
            "snap_m": 1,
        },
        "edits[0] (add_link): the start point is",
    ),
}


@pytest.mark.parametrize("case", BAD_EDITS, ids=list(BAD_EDITS))
def test_bad_edit_stops_before_anything_runs(bundled, baseline, case):
    edit, message = BAD_EDITS[case]
    spec = variant_of(bundled_spec("close_mannerheimintie").raw, **edit)
    stages = []
    with pytest.raises(SpecError) as err:
        run_scenario(bundled, spec, baseline=baseline, progress=lambda s, p: stages.append(s))
    assert message in str(err.value)
    assert stages == ["edits"]  # no assignment started
    if "disconnects" in message:  # it names the zones cut off, each with the pairs it lost
        named = re.search(r"e\.g\. zone (\d+) -> zone (\d+)", str(err.value))
        assert isinstance(err.value, Disconnected) and err.value.zones
        assert {int(named[1]), int(named[2])} & set(err.value.zones)
        assert all(n > 0 for n in err.value.zones.values())


def test_a_baseline_for_other_settings_is_refused(bundled, baseline):
    data = copy.deepcopy(bundled_spec("close_mannerheimintie").raw)
    data["assignment"] = {"target_gap": 1e-3}
    with pytest.raises(SpecError, match="baseline given was prepared for other"):
        run_scenario(bundled, parse_scenario(data), baseline=baseline)


def test_added_link_appears_in_both_directions_without_baseline_flow(bundled, baseline):
    links = baseline.city.model.link_frame().to_crs("EPSG:3067")
    a, b = shapely.get_coordinates(links.geometry.iloc[[0, 400]].to_numpy()[[0, 1]])[[0, -1]]
    line = gpd.GeoSeries([shapely.LineString([a, b])], crs=3067).to_crs(4326)
    spec = variant_of(
        bundled_spec("close_mannerheimintie").raw,
        type="add_link",
        geometry=line.iloc[0].wkt,
        speed_kmh=50,
        lanes=2,
    )
    result = run_scenario(bundled, spec, baseline=baseline)
    added = result.links[result.links["edit"] == "added"]
    assert len(added) == 2 and (added["road_fid"] == -1).all()
    assert added["flow_base"].sum() == 0


def test_a_pickled_baseline_gives_the_same_result(bundled, baseline, results):
    copy_ = pickle.loads(pickle.dumps(baseline))
    again = run_scenario(bundled, bundled_spec("centre_30kmh"), baseline=copy_)
    assert again.totals.equals(results["centre_30kmh"].totals)

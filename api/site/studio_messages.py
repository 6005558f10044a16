"""The studio's messages that code, not a template, names: the strings its scripts show (handed
to them as a JSON block in the page language; marked with `N_` so `make i18n-extract` finds
them), the keys its templates build at run time, and the note a withdrawn scenario's page shows.
The messages themselves live in the site's gettext catalogs like every other page's."""

from __future__ import annotations

from api.site.i18n import N_, Translator
from opendata.errors import NotFound
from opendata.store.catalog import Catalog

#: What the studio's scripts show, by the name they use (`T.checking` for `studio.js.checking`).
SCRIPT_MESSAGES = (
    N_("studio.js.area"),
    N_("studio.js.edit_close"),
    N_("studio.js.edit_speed"),
    N_("studio.js.edit_cordon"),
    N_("studio.js.edit_development"),
    N_("studio.js.links"),
    N_("studio.js.did_you_mean"),
    N_("studio.js.no_such_street"),
    N_("studio.js.remove"),
    N_("studio.js.need_street"),
    N_("studio.js.checking"),
    N_("studio.js.valid"),
    N_("studio.js.status_queued"),
    N_("studio.js.status_running"),
    N_("studio.js.status_done"),
    N_("studio.js.status_failed"),
    N_("studio.js.stage"),
    N_("studio.js.iteration"),
    N_("studio.js.gap"),
    N_("studio.js.queue_position"),
    N_("studio.js.noise"),
    N_("studio.js.demand_elastic"),
    N_("studio.js.demand_fixed"),
    N_("studio.js.map_flows"),
    N_("studio.js.map_difference"),
    N_("studio.js.map_noise"),
    N_("studio.js.map_accessibility"),
    N_("studio.js.published"),
    N_("studio.js.withdrawn"),
    N_("studio.js.deleted"),
    N_("studio.js.demand_differs"),
    N_("studio.js.draw_help"),
    N_("studio.js.need_corners"),
    N_("studio.js.unnamed"),
    N_("studio.js.whole"),
    N_("studio.js.stretch"),
    N_("studio.js.pick_end"),
    N_("studio.js.stretch_found"),
    N_("studio.js.need_speed"),
    N_("studio.js.dev_click"),
    N_("studio.js.dev_placed"),
    N_("studio.js.dev_need_place"),
    N_("studio.js.dev_bad_count"),
    N_("studio.js.dev_need_some"),
    N_("studio.js.in_zone"),
    N_("studio.js.cut_off_zone"),
    N_("studio.js.cut_off_summary"),
    N_("studio.js.cut_off_top"),
    N_("studio.js.cut_off_zone_one"),  # one/other is every site language's plural rule
    N_("studio.js.cut_off_summary_one"),
)
#: Keys the templates build from a value (a role, a job status, a visibility, a compare side).
BUILT_KEYS = (
    N_("studio.role.planner"), N_("studio.role.publisher"), N_("studio.role.admin"),
    N_("studio.status.queued"), N_("studio.status.running"), N_("studio.status.done"),
    N_("studio.status.failed"), N_("studio.visibility.draft"), N_("studio.visibility.published"),
    N_("studio.visibility.withdrawn"), N_("studio.visibility.None"), N_("studio.compare_a"),
    N_("studio.compare_b"),
)  # fmt: skip


def script_strings(t: Translator) -> dict[str, str]:
    """The scripts' strings in the page language (English where a catalog lacks one)."""
    return {key.removeprefix("studio.js."): t(key) for key in SCRIPT_MESSAGES}


def withdrawn_note(catalog_url: str, name: str, t: Translator) -> str | None:
    """ "Withdrawn on DATE" for a scenario whose results were withdrawn; None otherwise."""
    try:
        record = Catalog(catalog_url).dataset(f"scenario_{name[:40]}_totals", hidden=True)
    except NotFound:
        return None
    if record.kind != "withdrawn":
        return None
    return t("studio.withdrawn.detail", date=record.updated_at[:10])

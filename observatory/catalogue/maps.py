"""The map of a process's places: its comuni drawn from their boundaries, its point and its projects'.

Drawn on the server as SVG, so it needs no JavaScript, no tiles and nothing from another site; the
table of projects and the place fields say in words what it shows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from observatory.catalogue import places
from observatory.i18n import _, ngettext

#: Width of the drawing, in SVG units (it scales to the page).
WIDTH = 600
#: Comuni drawn at most (a process over a whole province has no useful map of them all).
MOST_COMUNI = 12
_MARGIN = 12


@dataclass(frozen=True)
class Marker:
    """A point on the map: where, and what it is."""

    x: float
    y: float
    label: str
    main: bool  #: the process's own point, not a project's


@dataclass(frozen=True)
class PlaceMap:
    """What templates/_partials.html draws: the outline of each comune, the markers, the size."""

    width: int
    height: int
    outlines: list[tuple[str, str]]  #: (comune name, SVG path)
    markers: list[Marker]

    @property
    def description(self) -> str:
        """What the map shows, in words of the current language (its title and caption)."""
        names = ", ".join(name for name, _outline in self.outlines)
        projects = sum(1 for marker in self.markers if not marker.main)
        shown = [_("il luogo del processo")] if any(marker.main for marker in self.markers) else []
        if projects:
            shown.append(ngettext("%(count)s progetto", "%(count)s progetti", projects) % {"count": projects})
        return _("Mappa di %(places)s: %(shown)s.") % {"places": names, "shown": _(" e ").join(shown)}


def place_map(process: dict) -> PlaceMap | None:
    """The map of a process's detail (services.process_detail), or None when it has no point."""
    points = [(process["latitude"], process["longitude"], process["title"], True)]
    points += [(p["latitude"], p["longitude"], p["title"], False) for p in process["projects"]]
    points = [point for point in points if point[0] is not None]
    if not points:
        return None
    by_code = places.comuni_by_code()
    codes = [t["code"] for t in process["territories"] if t["code"] in by_code]
    for latitude, longitude, *_point in points:
        if (found := places.comune_at(latitude, longitude)) is not None and found.code not in codes:
            codes.append(found.code)
    drawn = [by_code[code] for code in codes[:MOST_COMUNI]]
    if not drawn:
        return None
    west, south = min(c.box[0] for c in drawn), min(c.box[1] for c in drawn)
    east, north = max(c.box[2] for c in drawn), max(c.box[3] for c in drawn)
    squeeze = math.cos(math.radians((south + north) / 2))  # a degree of longitude is shorter
    span_x, span_y = max((east - west) * squeeze, 1e-6), max(north - south, 1e-6)
    scale = (WIDTH - 2 * _MARGIN) / span_x
    height = round(span_y * scale + 2 * _MARGIN)

    def at(longitude: float, latitude: float) -> tuple[float, float]:
        return (
            round(_MARGIN + (longitude - west) * squeeze * scale, 1),
            round(_MARGIN + (north - latitude) * scale, 1),
        )

    outlines = []
    for comune in drawn:
        path = " ".join(
            "M" + " L".join("{},{}".format(*at(x, y)) for x, y in zip(xs, ys, strict=True)) + " Z"
            for xs, ys in comune.rings
        )
        outlines.append((comune.name, path))
    markers = [Marker(*at(longitude, latitude), label, main) for latitude, longitude, label, main in points]
    return PlaceMap(WIDTH, height, outlines, markers)

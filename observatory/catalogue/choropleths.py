"""Choropleth maps of process counts: Italy by region or province, a region by province, a province by
comune, with the comuni that have processes as points; drawn on the server from geography.py.

The counts are those of the search's territory facet, so an area counts the processes in it or
anywhere inside it, each once; the table beside the map (``rows``) says the same in words.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable
from dataclasses import dataclass

from observatory.catalogue import geography
from observatory.i18n import gettext, ngettext

#: Fills from few processes to many (light to dark blue), and the colour of a label on each.
FILLS = ("#deebf7", "#9ecae1", "#4292c6", "#2171b5", "#08306b")
LABEL_COLOURS = ("#111111", "#111111", "#111111", "#ffffff", "#ffffff")
#: The fill of an area with no process.
EMPTY_FILL = "#f4f4f4"
#: The most comuni drawn as points on one map (those with the most processes).
MOST_POINTS = 400


@dataclass(frozen=True)
class ShadedArea:
    """An area of the map with its count, its shade and where it leads."""

    code: str
    name: str
    path: str
    centre: tuple[float, float]
    count: int
    href: str
    fill: str
    label_colour: str


@dataclass(frozen=True)
class Marker:
    """A comune with processes, as a point: its radius grows with the square root of its count."""

    code: str
    name: str
    x: float
    y: float
    radius: float
    count: int
    href: str


@dataclass(frozen=True)
class Choropleth:
    """A map ready for templates/_maps.html: areas, points, legend and the table of its numbers."""

    title: str
    description: str
    width: int
    height: int
    areas: list[ShadedArea]
    markers: list[Marker]
    legend: list[tuple[str, str]]  #: (fill, "da 4 a 10 processi")
    rows: list[ShadedArea | Marker]  #: every area and point with processes, most first
    labelled: bool  #: whether each area shows its count on the map


def _breaks(counts: list[int]) -> list[int]:
    """The upper bound of each class of counts: up to five classes of about as many areas."""
    values = sorted(n for n in counts if n > 0)
    if not values:
        return []
    bounds = [values[min(len(values) - 1, math.ceil(len(values) * k / len(FILLS)) - 1)] for k in range(1, 6)]
    return sorted(set(bounds))


def _legend(breaks: list[int]) -> list[tuple[str, str]]:
    legend = [(EMPTY_FILL, gettext("nessun processo"))]
    low = 1
    for index, high in enumerate(breaks):
        fill = FILLS[index + len(FILLS) - len(breaks)]
        if low == high:
            words = ngettext("%(num)s processo", "%(num)s processi", low) % {"num": low}
        else:
            words = gettext("da %(low)s a %(high)s processi") % {"low": low, "high": high}
        legend.append((fill, words))
        low = high + 1
    return legend


def choropleth(
    drawing: geography.Drawing,
    counts: dict[str, int],
    href: Callable[[str], str],
    title: str,
    description: str,
    names: dict[str, str],
    within: Callable[[str], bool] | None = None,
) -> Choropleth:
    """The map of ``drawing`` shaded by ``counts`` (territory code → processes), every area and
    point linked by ``href``; the comuni with processes for which ``within`` holds are markers
    (``names`` names them)."""
    breaks = _breaks([counts.get(area.code, 0) for area in drawing.areas])
    shift = len(FILLS) - len(breaks)

    def shade(n: int) -> tuple[str, str]:
        if n == 0:
            return EMPTY_FILL, LABEL_COLOURS[0]
        index = next(i for i, high in enumerate(breaks) if n <= high) + shift
        return FILLS[index], LABEL_COLOURS[index]

    areas = [
        ShadedArea(area.code, area.name, area.path, area.centre, n, href(area.code), *shade(n))
        for area in drawing.areas
        for n in [counts.get(area.code, 0)]
    ]
    markers = _markers(drawing, counts, href, names, within) if within else []
    rows = sorted(
        [*(a for a in areas if a.count), *markers], key=lambda row: (-row.count, row.name, row.code)
    )
    return Choropleth(
        title,
        description,
        drawing.width,
        drawing.height,
        areas,
        markers,
        _legend(breaks),
        rows,
        len(areas) <= 30,
    )


def _markers(drawing, counts, href, names, within) -> list[Marker]:
    located = geography.comune_points()
    candidates = [(n, code) for code, n in counts.items() if n and code[0] == "C" and code in located]
    comuni = [
        code
        for _, code in heapq.nsmallest(MOST_POINTS, ((-n, code) for n, code in candidates if within(code)))
    ]
    most = max((counts[code] for code in comuni), default=1)
    markers = []
    for code in comuni:
        latitude, longitude, _ = located[code]
        x, y = drawing.at(latitude, longitude)
        if 0 <= x <= drawing.width and 0 <= y <= drawing.height:
            radius = round(2 + 6 * math.sqrt(counts[code] / most), 1)
            markers.append(Marker(code, names.get(code, code), x, y, radius, counts[code], href(code)))
    return markers

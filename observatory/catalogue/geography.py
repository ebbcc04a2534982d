"""The geometry of the choropleth maps: Italy by region or by province, a region by province, a province
by comune, as SVG paths; and where each comune lies, for a marker.

The outlines are Openpolis's TopoJSON of ISTAT's boundaries of June 2023 (``data/territori/confini/``,
CC BY 4.0): ``limits_IT_regions``, ``limits_IT_provinces`` and the comuni of each region, which
:mod:`observatory.catalogue.places` reads too. Douglas–Peucker simplifies each arc of a topology once,
in the units of the drawing, so a border two areas share stays one line. Codes and names are those of
the shipped ISTAT list, as in the territory table (the boundaries number the metropolitan cities
otherwise: see :func:`unmatched`). Each drawing is computed once per process.
"""

from __future__ import annotations

import csv
import json
import math
import multiprocessing
import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from observatory.catalogue import places
from observatory.settings import DATA_DIR

#: Width of every drawing, in SVG units (it scales to the page).
WIDTH = 600
#: How far a simplified outline may stray from the source, in drawing units.
TOLERANCE = 0.5
_MARGIN = 10
ISTAT_FILE = DATA_DIR / "territori" / "istat_elenco_comuni_italiani_2024-12.csv"
COORDINATES_FILE = DATA_DIR / "territori" / "comuni_coordinate.csv"
REGIONS_FILE = places.BOUNDARIES_DIR / "limits_IT_regions.topo.json"
PROVINCES_FILE = places.BOUNDARIES_DIR / "limits_IT_provinces.topo.json"
_PROVINCE = "Codice dell'Unità territoriale sovracomunale (valida a fini statistici)"
_PROVINCE_NAME = "Denominazione dell'Unità territoriale sovracomunale (valida a fini statistici)"

Line = tuple[Sequence[float], Sequence[float]]  #: x (or longitude) and y (or latitude) of each point
Point = tuple[float, float]


@dataclass(frozen=True)
class Area:
    """One region, province or comune: its outline as SVG path data and a point for its label."""

    code: str  #: our territory code: "R01", "P201", "C001272"
    name: str  #: "Piemonte", "Torino", "Chieri"
    path: str  #: "M12.3,45.6L…Z M…Z", in the drawing's units, 1 decimal
    centre: Point  #: (x, y) inside the area, near its middle


@dataclass(frozen=True)
class _Projection:
    """Equirectangular, a degree of longitude squeezed by the cosine of the mean latitude, WIDTH wide."""

    west: float
    north: float
    squeeze: float
    scale: float  #: drawing units per degree of latitude
    height: int

    @classmethod
    def fitted(cls, lines: list[Line]) -> _Projection:
        west, east = min(min(xs) for xs, _ in lines), max(max(xs) for xs, _ in lines)
        south, north = min(min(ys) for _, ys in lines), max(max(ys) for _, ys in lines)
        squeeze = math.cos(math.radians((south + north) / 2))
        scale = (WIDTH - 2 * _MARGIN) / max((east - west) * squeeze, 1e-9)
        return cls(west, north, squeeze, scale, round((north - south) * scale + 2 * _MARGIN))

    def line(
        self, longitudes: Sequence[float], latitudes: Sequence[float]
    ) -> tuple[list[float], list[float]]:
        across = self.squeeze * self.scale
        return (
            [_MARGIN + (longitude - self.west) * across for longitude in longitudes],
            [_MARGIN + (self.north - latitude) * self.scale for latitude in latitudes],
        )


@dataclass(frozen=True)
class Drawing:
    """A map: its size in SVG units and its areas, sorted by code."""

    width: int
    height: int
    areas: tuple[Area, ...]
    _projection: _Projection = field(repr=False)

    def at(self, latitude: float, longitude: float) -> Point:
        """Where a point falls in this drawing, (x, y)."""
        (x,), (y,) = self._projection.line([longitude], [latitude])
        return round(x, 1), round(y, 1)


@dataclass(frozen=True)
class _Territory:
    name: str
    parent: str  #: the code of the territory it belongs to: "IT" for a region


@cache
def _territories() -> dict[str, _Territory]:
    """The regions, provinces and comuni of the shipped ISTAT list, by territory code."""
    found = {}
    with ISTAT_FILE.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            region, province = "R" + row["Codice Regione"], "P" + row[_PROVINCE]
            found[region] = _Territory(row["Denominazione Regione"], "IT")
            found[province] = _Territory(row[_PROVINCE_NAME], region)
            found["C" + row["Codice Comune formato alfanumerico"]] = _Territory(
                row["Denominazione in italiano"], province
            )
    return found


def _topology(path: Path, name: str) -> tuple[list[dict], list[Line]]:
    """The geometries of the object ``name`` of a TopoJSON file, and its arcs in degrees."""
    topology = json.loads(path.read_text(encoding="utf-8"))
    return topology["objects"][name]["geometries"], places.arcs(topology)


@cache
def _provinces_topology() -> tuple[list[dict], list[Line]]:
    return _topology(PROVINCES_FILE, "provinces")


@cache
def _metropolitan_cities() -> dict[str, str]:
    """The boundary code of each metropolitan city → our territory code ("001" → "P201").

    The boundaries number the 14 metropolitan cities with the code of the province each replaced (001
    Torino), the ISTAT list with the code valid for statistical purposes: 2 and the same last two digits
    (201). So a boundary code that is not a province of the list, but whose "2" + code[1:] is, is that
    metropolitan city.
    """
    territories = _territories()
    boundary_codes = [geometry["properties"]["prov_istat_code"] for geometry in _provinces_topology()[0]]
    return {
        code: "P2" + code[1:]
        for code in boundary_codes
        if "P" + code not in territories and "P2" + code[1:] in territories
    }


def _province_code(properties: dict) -> str:
    code = properties["prov_istat_code"]
    return _metropolitan_cities().get(code, "P" + code)


def unmatched() -> tuple[list[str], list[str]]:
    """The provinces of the ISTAT list with no outline, and the boundary codes of no province of the list.

    Both are empty for the shipped files. The provinces of Sardinia's reform after 2023 (new units in
    ISTAT's lists from 2025) are neither in the 2024-12 list nor in the 2023 boundaries: a newer list
    needs newer boundaries too.
    """
    territories = _territories()
    geometries, _ = _provinces_topology()
    drawn = {_province_code(geometry["properties"]) for geometry in geometries}
    provinces = {code for code in territories if code.startswith("P")}
    return (
        sorted(provinces - drawn),
        sorted(
            geometry["properties"]["prov_istat_code"]
            for geometry in geometries
            if _province_code(geometry["properties"]) not in provinces
        ),
    )


def _shapes(
    geometries: list[dict], code_of: Callable[[dict], str], parent: str | None = None
) -> list[tuple[str, str, list[list[int]]]]:
    """(code, name, rings as lists of arc indexes) of the geometries that are territories of the list,
    those in ``parent`` only when it is given."""
    territories = _territories()
    shapes = []
    for geometry in geometries:
        code = code_of(geometry["properties"])
        territory = territories.get(code)
        if territory is None or not geometry.get("arcs") or parent not in (None, territory.parent):
            continue
        polygons = geometry["arcs"] if geometry["type"] == "MultiPolygon" else [geometry["arcs"]]
        shapes.append((code, territory.name, [ring for polygon in polygons for ring in polygon]))
    return shapes


def _simplified(xs: list[float], ys: list[float]) -> tuple[list[float], list[float]]:
    """Douglas–Peucker: the points of the line, its ends always, that keep it within TOLERANCE."""
    keep = [False] * len(xs)
    keep[0] = keep[-1] = True
    limit = TOLERANCE * TOLERANCE
    spans = [(0, len(xs) - 1)]
    while spans:
        first, last = spans.pop()
        ax, ay = xs[first], ys[first]
        dx, dy = xs[last] - ax, ys[last] - ay
        length = dx * dx + dy * dy
        farthest, distance = 0, limit
        for index in range(first + 1, last):  # the squared distance of each point from the segment
            px, py = xs[index] - ax, ys[index] - ay
            along = px * dx + py * dy
            if along <= 0:
                offset = px * px + py * py
            elif along >= length:
                offset = (px - dx) ** 2 + (py - dy) ** 2
            else:
                offset = (px * dy - py * dx) ** 2 / length
            if offset > distance:
                farthest, distance = index, offset
        if farthest:
            keep[farthest] = True
            spans += [(first, farthest), (farthest, last)]
    return [x for x, kept in zip(xs, keep, strict=True) if kept], [
        y for y, kept in zip(ys, keep, strict=True) if kept
    ]


def _points(line: Line) -> list[Point]:
    """The ring's points rounded to 1 decimal, without repeats (nor the closing point: Z closes)."""
    points: list[Point] = []
    for x, y in zip(*line, strict=True):
        point = (round(x, 1), round(y, 1))
        if not points or point != points[-1]:
            points.append(point)
    return points[:-1] if len(points) > 1 and points[0] == points[-1] else points


def _edges(ring: list[Point]) -> zip:
    """Each side of the ring: (start, end), the last one closing it."""
    return zip(ring, ring[1:] + ring[:1], strict=True)


def _surface(ring: list[Point]) -> float:
    return abs(sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in _edges(ring)))


def _centre(largest: list[Point], rings: list[list[Point]]) -> Point:
    """The centroid of the largest ring or, when it falls outside the area (a crescent, a hole), the middle
    of the widest stretch of the area on the centroid's horizontal."""
    twice_area = cx = cy = 0.0
    for (x0, y0), (x1, y1) in _edges(largest):
        cross = x0 * y1 - x1 * y0
        twice_area, cx, cy = twice_area + cross, cx + (x0 + x1) * cross, cy + (y0 + y1) * cross
    if twice_area == 0:  # a ring too small to have a surface at this scale
        return largest[0]
    cx, cy = cx / (3 * twice_area), cy / (3 * twice_area)
    crossings = sorted(
        x0 + (cy - y0) * (x1 - x0) / (y1 - y0)
        for ring in rings
        for (x0, y0), (x1, y1) in _edges(ring)
        if (y0 > cy) != (y1 > cy)
    )
    stretches = list(zip(crossings[::2], crossings[1::2], strict=True))
    if not stretches or any(west <= cx <= east for west, east in stretches):
        return round(cx, 1), round(cy, 1)
    west, east = max(stretches, key=lambda stretch: stretch[1] - stretch[0])
    return round((west + east) / 2, 1), round(cy, 1)


def _area(code: str, name: str, rings: list[list[int]], projected: Mapping, simplified: Mapping) -> Area:
    """The area of a shape. A ring simplified to fewer than 3 points is dropped, unless no ring is left:
    then the largest ring is kept as it was before simplification."""
    kept = [points for ring in rings if len(set(points := _points(places.ring(simplified, ring)))) >= 3]
    if not kept:
        kept = [max((_points(places.ring(projected, ring)) for ring in rings), key=_surface)]
    path = " ".join("M" + "L".join(f"{x:.1f},{y:.1f}" for x, y in points) + "Z" for points in kept)
    return Area(code, name, path, _centre(max(kept, key=_surface), kept))


def _drawing(arcs: list[Line], shapes: list[tuple[str, str, list[list[int]]]]) -> Drawing:
    """The drawing of the shapes, fitted to their extent."""
    used = {index if index >= 0 else ~index for _, _, rings in shapes for ring in rings for index in ring}
    projection = _Projection.fitted([arcs[index] for index in used])
    projected = {index: projection.line(*arcs[index]) for index in used}
    simplified = {index: _simplified(*line) for index, line in projected.items()}
    areas = sorted((_area(*shape, projected, simplified) for shape in shapes), key=lambda area: area.code)
    return Drawing(WIDTH, projection.height, tuple(areas), projection)


#: Drawings computed by :func:`prepare`, by level ("regione", "provincia") or territory code.
_PREPARED: dict[str, Drawing | None] = {}
_preparing = threading.Lock()
_job: Future | None = None


def italy(level: str) -> Drawing:
    """Italy by region ("regione", 20 areas) or by province ("provincia", 107 areas)."""
    if level in _PREPARED:
        return _PREPARED[level]
    return _italy(level)


@cache
def _italy(level: str) -> Drawing:
    if level == "regione":
        geometries, arcs = _topology(REGIONS_FILE, "regions")
        return _drawing(arcs, _shapes(geometries, lambda properties: "R" + properties["reg_istat_code"]))
    if level == "provincia":
        geometries, arcs = _provinces_topology()
        return _drawing(arcs, _shapes(geometries, _province_code))
    raise ValueError(f"level {level!r}: 'regione' or 'provincia'")


def inside(code: str) -> Drawing | None:
    """A region ("R01") by its provinces, a province ("P201") by its comuni; None for another code, or
    for one with no outlines."""
    if code not in _territories() or code[0] not in "RP":
        return None
    if code in _PREPARED:
        return _PREPARED[code]
    return _inside(code)


@cache
def _inside(code: str) -> Drawing | None:
    if code.startswith("R"):
        geometries, arcs = _provinces_topology()
        shapes = _shapes(geometries, _province_code, parent=code)
    else:
        region = _territories()[code].parent
        path = places.BOUNDARIES_DIR / f"limits_R_{int(region[1:])}_municipalities.topo.json"
        geometries, arcs = _topology(path, "comuni")
        shapes = _shapes(geometries, lambda properties: "C" + properties["com_istat_code"], parent=code)
    return _drawing(arcs, shapes) if shapes else None


def every_drawing() -> dict[str, Drawing | None]:
    """Italy at both levels and every region and province inside: about 3 s of work."""
    drawings: dict[str, Drawing | None] = {level: _italy(level) for level in ("regione", "provincia")}
    drawings.update((code, _inside(code)) for code in _territories() if code[0] in "RP")
    return drawings


def prepare(on_ready: Callable[[], None] | None = None) -> None:
    """Start computing every drawing in another process (on another core, without holding this
    one's interpreter), so that no visitor waits for a first drawing; until they arrive, a map is
    drawn when asked. Started once per process, however many applications start and stop in it;
    ``on_ready`` is called (in another thread) once the drawings are in."""
    with _preparing:
        global _job
        if _job is not None:
            return
        pool = ProcessPoolExecutor(
            max_workers=1,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_end_with_parent,
            initargs=(os.getpid(),),
        )
        _job = pool.submit(every_drawing)

    def arrived(job: Future) -> None:
        pool.shutdown(wait=False)
        if job.exception() is None:
            _PREPARED.update(job.result())
            if on_ready is not None:
                on_ready()

    _job.add_done_callback(arrived)


def _end_with_parent(parent: int) -> None:
    """In the drawing process: end when the process that started it has ended. A server stopped
    before the drawings arrive would otherwise leave it blocked for ever, writing them to a pipe
    nobody reads."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1)
        os._exit(0)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


@cache
def comune_points() -> dict[str, tuple[float, float, int]]:
    """Where each comune lies and how many live there: code → (latitude, longitude, population)."""
    with COORDINATES_FILE.open(encoding="utf-8", newline="") as handle:
        return {
            row["codice"]: (float(row["lat"]), float(row["lng"]), int(row["popolazione"]))
            for row in csv.DictReader(handle)
        }


@cache
def populations() -> dict[str, int]:
    """How many live in each territory, by code: a comune's own figure, a province's, a region's and
    Italy's the sum of their comuni."""
    territories = _territories()
    found: dict[str, int] = {}
    for code, (_, _, people) in comune_points().items():
        unit = code
        while unit in territories or unit == "IT":
            found[unit] = found.get(unit, 0) + people
            unit = territories[unit].parent if unit != "IT" else ""
    return found

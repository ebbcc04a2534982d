"""The geometry of the choropleth maps: the areas drawn match the ISTAT list, the paths are SVG path data
inside their drawing, points land where they should. Pure: no database, no web."""

from __future__ import annotations

import csv
import itertools
import math
import re
import time

import pytest

from observatory.catalogue import geography, places
from observatory.catalogue.geography import comune_points, inside, italy, unmatched

PROVINCE = "Codice dell'Unità territoriale sovracomunale (valida a fini statistici)"
TORINO = "C001272"
RING = r"M\d+\.\d,\d+\.\d(?:L\d+\.\d,\d+\.\d)+Z"
PATH = re.compile(rf"{RING}(?: {RING})*")


def _istat_rows() -> list[dict[str, str]]:
    with geography.ISTAT_FILE.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _rings(path: str) -> list[list[tuple[float, float]]]:
    return [
        [(float(x), float(y)) for x, y in re.findall(r"(\d+\.\d),(\d+\.\d)", ring)]
        for ring in path.split("Z")[:-1]
    ]


def _box(path: str) -> tuple[float, float, float, float]:
    points = [point for ring in _rings(path) for point in ring]
    return (
        min(x for x, _ in points),
        min(y for _, y in points),
        max(x for x, _ in points),
        max(y for _, y in points),
    )


def _contains(path: str, x: float, y: float) -> bool:
    """Even-odd rule over every ring of the path."""
    crossings = 0
    for ring in _rings(path):
        for (x0, y0), (x1, y1) in zip(ring, ring[1:] + ring[:1], strict=True):
            if (y0 > y) != (y1 > y) and x < x0 + (y - y0) * (x1 - x0) / (y1 - y0):
                crossings += 1
    return crossings % 2 == 1


def _distance(point, start, end) -> float:
    """From a point to a segment."""
    (px, py), (ax, ay), (bx, by) = point, start, end
    dx, dy = bx - ax, by - ay
    along = max(0.0, min(1.0, ((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy)))
    return math.hypot(px - ax - along * dx, py - ay - along * dy)


def _area(drawing: geography.Drawing, code: str) -> geography.Area:
    return next(area for area in drawing.areas if area.code == code)


def test_italy_by_region_draws_the_20_regions():
    drawing = italy("regione")
    assert [area.code for area in drawing.areas] == [f"R{number:02d}" for number in range(1, 21)]
    assert all(area.path for area in drawing.areas)
    assert _area(drawing, "R01").name == "Piemonte"


def test_italy_by_province_draws_the_107_provinces_of_the_istat_list():
    provinces = sorted({"P" + row[PROVINCE] for row in _istat_rows()})
    drawing = italy("provincia")
    assert len(provinces) == 107
    assert [area.code for area in drawing.areas] == provinces
    assert _area(drawing, "P201").name == "Torino"
    assert _area(drawing, "P280").name == "Reggio Calabria"


def test_every_province_has_a_boundary_and_every_boundary_a_province():
    assert unmatched() == ([], [])


def test_the_metropolitan_cities_are_found_under_their_historical_codes():
    historical = "001 015 027 010 037 048 058 063 072 080 082 083 087 092".split()
    assert geography._metropolitan_cities() == {code: "P2" + code[1:] for code in historical}


def test_a_region_is_drawn_by_its_provinces():
    drawing = inside("R01")
    assert drawing is not None
    assert [area.code for area in drawing.areas] == sorted("P201 P002 P003 P004 P005 P006 P096 P103".split())


def test_a_province_is_drawn_by_its_comuni_with_a_boundary():
    listed = {
        "C" + row["Codice Comune formato alfanumerico"] for row in _istat_rows() if row[PROVINCE] == "201"
    }
    with_boundary = listed & set(places.comuni_by_code())
    drawing = inside("P201")
    assert drawing is not None
    assert len(with_boundary) > 300
    assert {area.code for area in drawing.areas} == with_boundary
    assert len(drawing.areas) == len(with_boundary)
    assert _area(drawing, TORINO).name == "Torino"


@pytest.mark.parametrize("code", ["IT", TORINO, "P001", "R21", "X01", ""])
def test_other_codes_have_no_drawing_inside(code):
    assert inside(code) is None


def test_an_unknown_level_is_refused():
    with pytest.raises(ValueError):
        italy("comune")


def test_a_point_lands_in_its_area_at_every_scale():
    latitude, longitude, _ = comune_points()[TORINO]
    for drawing, code in [(italy("regione"), "R01"), (italy("provincia"), "P201"), (inside("R01"), "P201")]:
        x, y = drawing.at(latitude, longitude)
        assert 0 <= x <= drawing.width and 0 <= y <= drawing.height
        west, north, east, south = _box(_area(drawing, code).path)
        assert west <= x <= east and north <= y <= south
    drawing = inside("P201")
    assert _contains(_area(drawing, TORINO).path, *drawing.at(latitude, longitude))


@pytest.mark.parametrize(
    "drawing",
    [italy("regione"), italy("provincia"), inside("R01"), inside("R20"), inside("P201"), inside("P292")],
    ids=["regioni", "province", "R01", "R20", "P201", "P292"],
)
def test_paths_are_svg_path_data_inside_the_drawing(drawing):
    for area in drawing.areas:
        assert PATH.fullmatch(area.path), area.code
        west, north, east, south = _box(area.path)
        assert 0 <= west <= east <= drawing.width and 0 <= north <= south <= drawing.height, area.code
    assert drawing.width == geography.WIDTH
    assert [area.code for area in drawing.areas] == sorted(area.code for area in drawing.areas)


@pytest.mark.parametrize("level", ["regione", "provincia"])
def test_every_ring_of_italy_is_a_surface_and_every_centre_is_inside_its_area(level):
    for area in italy(level).areas:
        assert all(len(set(ring)) >= 3 for ring in _rings(area.path)), area.code
        assert _contains(area.path, *area.centre), area.code


def test_the_maps_of_italy_are_small_enough_to_send_inline():
    assert sum(len(area.path) for area in italy("provincia").areas) < 120_000
    assert sum(len(area.path) for area in italy("regione").areas) < 60_000


def test_simplification_stays_within_the_tolerance_and_keeps_the_ends():
    xs = [float(i) for i in range(101)]
    ys = [(i % 2) * 0.3 + (5.0 if i == 50 else 0.0) for i in range(101)]
    kept_x, kept_y = geography._simplified(xs, ys)
    assert (kept_x[0], kept_y[0], kept_x[-1], kept_y[-1]) == (0.0, 0.0, 100.0, 0.0)
    assert (50.0, 5.0) in zip(kept_x, kept_y, strict=True)  # the spike is further than the tolerance
    assert len(kept_x) < 10  # the ripple of 0.3 is not
    segments = list(itertools.pairwise(zip(kept_x, kept_y, strict=True)))
    for x, y in zip(xs, ys, strict=True):
        assert min(_distance((x, y), *segment) for segment in segments) <= geography.TOLERANCE


def test_every_comune_of_the_list_has_a_point_and_torino_its_population():
    points = comune_points()
    assert set(points) == {"C" + row["Codice Comune formato alfanumerico"] for row in _istat_rows()}
    latitude, longitude, population = points[TORINO]
    assert 45.0 < latitude < 45.1 and 7.6 < longitude < 7.7
    assert population > 800_000


def test_prepare_draws_every_map_a_visitor_can_ask_for_in_another_process():
    """Start-up draws them all, so no territory page waits for its first drawing."""
    geography.prepare()
    geography.prepare()  # already started (maybe by an application of this process): nothing more
    deadline = time.monotonic() + 60
    while not geography._PREPARED and time.monotonic() < deadline:
        time.sleep(0.05)
    prepared = geography._PREPARED
    assert len(prepared) == 2 + 20 + 107
    assert prepared["P201"] == geography._inside("P201") and len(prepared["P201"].areas) == 312
    assert inside("P201") is prepared["P201"] and italy("provincia") is prepared["provincia"]
    assert {area.code for area in italy("regione").areas} == {f"R{n:02}" for n in range(1, 21)}

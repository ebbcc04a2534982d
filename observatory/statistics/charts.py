"""The charts of /statistiche: what each counts, in which order, and the search behind every bar.

Every number comes from the search index's tallies of the same request a search makes
(search.query.run_tallies): a facet's bars are the counts the facets of /processi show for the
same filters, and the link behind a bar is the search that finds exactly the processes it counts
(the filter of that facet set to the bar's value, the others kept).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlencode

from observatory.catalogue import fields
from observatory.catalogue.queries import FILTERS, ProcessQuery, value_label
from observatory.i18n import N_, _
from observatory.search.query import Tallies
from observatory.text import euro_short, whole

#: The most bars a chart of many values shows (the most frequent, or the largest amounts).
MOST_BARS = {"titolare": 15, "tematica": 20, "programma": 15, "fondo": 15, "comuni": 20}
#: The facets whose investment the tallies sum.
SUMMED = ("programma", "fondo")
#: A process's state that the chart of start years tells apart.
ONGOING = ("stato", "in_corso")


@dataclass
class Bar:
    """One bar: what it stands for, its number, and the search that finds what it counts."""

    value: str  #: the facet value ("R08", "concluso", "2019")
    label: str
    number: float  #: processes, or euro in a chart of amounts
    processes: int
    href: str
    share: float = 0.0  #: its length, from 0 to 1 of the longest
    selected: bool = False  #: the search is filtered by it
    part: int = 0  #: of which ongoing (chart of start years)
    part_href: str | None = None
    part_share: float = 0.0


@dataclass
class Chart:
    """A chart: its address, title, what it shows in one sentence, and its bars."""

    slug: str
    title: str
    description: str
    bars: list[Bar]
    unit: str = "processi"  #: "processi", or "euro" for amounts
    note: str | None = None  #: how to read its totals, when they are not the number of processes
    part_label: str | None = None  #: what ``Bar.part`` counts

    @property
    def height(self) -> int:
        return ROW * len(self.bars) + 2 * PAD


#: Height of one bar's row in the drawing, and the drawing's padding, in SVG units.
ROW, PAD = 26, 6
#: Width of the drawing, of its column of labels and of the room kept for the numbers.
WIDTH, LABELS, NUMBERS = 640, 230, 110


def query_pairs(query: ProcessQuery, drop: tuple[str, ...] = ()) -> list[tuple[str, str]]:
    """A query's text, filters and years as URL parameters (its page and sort left out)."""
    pairs = [("q", query.q)] if query.q else []
    return pairs + [(name, value) for name, value in query.active_filters() if name not in drop]


def search_href(query: ProcessQuery, **replaced: str) -> str:
    """The address of /processi for ``query`` with some of its parameters replaced."""
    pairs = query_pairs(query, drop=tuple(replaced))
    return "/processi?" + urlencode([*pairs, *replaced.items()])


def _scaled(bars: list[Bar]) -> list[Bar]:
    longest = max((bar.number for bar in bars), default=0) or 1
    for bar in bars:
        bar.share = bar.number / longest
        bar.part_share = bar.part / longest if bar.part else 0.0
    return bars


def _facet_bars(
    tallies: Tallies,
    query: ProcessQuery,
    name: str,
    values: list[str] | None = None,
    ordered: bool = False,
    most: int | None = None,
) -> tuple[list[Bar], int]:
    """Bars for the values of facet ``name`` that have processes (among ``values``, or all), most
    frequent first unless ``ordered``; only the first ``most`` become bars. Also how many had any."""
    counts = tallies.facets.get(name, {})
    labels = tallies.labels.get(name, {}) | dict((FILTERS[name].choices or {}).items())
    counted = [value for value in (counts if values is None else values) if counts.get(value)]
    if not ordered:
        counted.sort(key=lambda v: (-counts[v], labels.get(v, v)))
    chosen = set(query.values(name))
    bars = [
        Bar(
            value=value,
            label=value_label(name, labels.get(value, value)),
            number=counts[value],
            processes=counts[value],
            href=search_href(query, **{name: value}),
            selected=value in chosen,
        )
        for value in counted[:most]
    ]
    return bars, len(counted)


def _facet_chart(tallies, query, name: str, title: str, description: str, note=None, values=None) -> Chart:
    """The chart of facet ``name``; ``title``, ``description`` and ``note`` are marked messages."""
    most = MOST_BARS.get(name)
    bars, counted = _facet_bars(tallies, query, name, values, ordered=values is not None, most=most)
    description = _(description)
    if most and counted > most:
        shown = {"most": most, "counted": whole(counted)}
        description += " " + _("Sono mostrati i %(most)s più frequenti su %(counted)s.") % shown
    return Chart(name, _(title), description, _scaled(bars), note=_(note) if note else None)


def _years(tallies: Tallies, query: ProcessQuery) -> Chart:
    name, ongoing = ONGOING
    bars = [
        Bar(
            value=str(year),
            label=str(year),
            number=n,
            processes=n,
            href=search_href(query, avvio_da=str(year), avvio_a=str(year)),
            part=tallies.started_ongoing.get(year, 0),
            part_href=search_href(query, avvio_da=str(year), avvio_a=str(year), **{name: ongoing}),
        )
        for year, n in sorted(tallies.started.items())
    ]
    for bar in bars:
        if not bar.part:
            bar.part_href = None
    description = _(
        "Quanti processi sono cominciati ogni anno; la parte a righe è quella dei processi ancora in corso."
    )
    if tallies.without_start:
        description += " " + _("%(count)s non indicano l'anno di avvio.") % {
            "count": whole(tallies.without_start)
        }
    return Chart(
        "anni", _("Processi per anno di avvio"), description, _scaled(bars), part_label=_("di cui in corso")
    )


def _regions(tallies: Tallies, query: ProcessQuery) -> Chart:
    regions = [code for code in tallies.facets.get("territorio", {}) if code.startswith("R")]
    bars = _facet_bars(tallies, query, "territorio", regions)[0]
    national = tallies.facets.get("scala", {}).get("nazionale", 0)
    if national:
        bars.insert(
            0,
            Bar(
                "nazionale",
                _("Tutta Italia (processi nazionali)"),
                national,
                national,
                search_href(query, scala="nazionale"),
                selected="nazionale" in query.values("scala"),
            ),
        )
    return Chart(
        "regioni",
        _("Processi per regione"),
        _(
            "In quante regioni si sono svolti i processi: un processo in più comuni di una regione conta una "
            "volta per quella regione; un processo nazionale conta come nazionale, non in ogni regione."
        ),
        _scaled(bars),
        note=_("Un processo che riguarda più regioni conta in ognuna: la somma può superare il totale."),
    )


def _inside(tallies: Tallies, query: ProcessQuery) -> Chart | None:
    """The provinces of the one region the search is filtered by, or the comuni of its one province."""
    chosen = query.values("territorio")
    if len(chosen) != 1 or chosen[0][0] not in "RP":
        return None
    code = chosen[0]
    name = tallies.labels.get("territorio", {}).get(code, code)
    inner = [v for v in tallies.facets.get("territorio", {}) if tallies.parents.get(v) == code]
    if code.startswith("R"):
        slug, title = "province", _("Processi per provincia: %(place)s") % {"place": name}
        description = _(
            "Quanti processi si sono svolti in ogni provincia della regione; un processo in più territori "
            "conta in ognuno."
        )
    else:
        slug, title = "comuni", _("Processi per comune: %(place)s") % {"place": name}
        description = _(
            "Quanti processi si sono svolti in ogni comune della provincia; un processo in più territori "
            "conta in ognuno."
        )
    most = MOST_BARS.get(slug)
    bars, counted = _facet_bars(tallies, query, "territorio", inner, most=most)
    if most and counted > most:
        shown = {"most": most, "counted": whole(counted)}
        description += " " + _("Sono mostrati i %(most)s con più processi su %(counted)s.") % shown
    return Chart(slug, title, description, _scaled(bars))


def _amounts(tallies: Tallies, query: ProcessQuery, name: str, title: str, what: str) -> Chart:
    sums = tallies.investment.get(name, {})
    counts = tallies.facets.get(name, {})
    ordered = sorted(sums, key=lambda v: (-sums[v], v))
    description = _(
        "L'investimento totale dichiarato dai processi, sommato per %(what)s; %(with_investment)s "
        "processi su %(total)s lo indicano, per %(invested)s in tutto."
    ) % {
        "what": _(what),
        "with_investment": whole(tallies.with_investment),
        "total": whole(tallies.total),
        "invested": euro_short(tallies.invested),
    }
    most = MOST_BARS[name]
    if len(ordered) > most:
        shown = {"most": most, "counted": whole(len(ordered))}
        description += " " + _("Sono mostrati i %(most)s con l'importo maggiore su %(counted)s.") % shown
    bars = [
        Bar(
            value=value,
            label=value,
            number=sums[value],
            processes=counts.get(value, 0),
            href=search_href(query, **{name: value}),
            selected=value in query.values(name),
        )
        for value in ordered[:most]
    ]
    return Chart(name, _(title), description, _scaled(bars), unit="euro")


@dataclass
class Statistics:
    """Every chart of one request, and the figures above them."""

    total: int
    charts: list[Chart] = field(default_factory=list)
    corrected_from: str | None = None
    corrected_text: str | None = None
    #: No process has every word of the text: the charts count those with some of them.
    partial: bool = False

    def chart(self, slug: str) -> Chart | None:
        return next((chart for chart in self.charts if chart.slug == slug), None)


def statistics(tallies: Tallies, query: ProcessQuery) -> Statistics:
    """The charts of what ``query`` finds, in the order the page shows them."""
    states = list(fields.BY_NAME["state"].choices or {})
    scales = list(fields.TERRITORIAL_SCALES)
    charts = [
        _years(tallies, query),
        _regions(tallies, query),
        _inside(tallies, query),
        _facet_chart(
            tallies,
            query,
            "scala",
            N_("Processi per scala territoriale"),
            N_(
                "Fin dove arriva ogni processo: un comune, più comuni, una provincia, una regione, più "
                "regioni o tutto il paese (ogni processo conta una volta)."
            ),
            values=scales,
        ),
        _facet_chart(
            tallies,
            query,
            "ambito",
            N_("Processi per ambito di intervento"),
            N_("Il campo d'azione di ogni processo."),
        ),
        _facet_chart(tallies, query, "tipo", N_("Processi per tipo"), N_("Che tipo di processo è ciascuno.")),
        _facet_chart(
            tallies,
            query,
            "livello",
            N_("Processi per livello di partecipazione"),
            N_("Quanto potere ha avuto chi ha partecipato, dall'informazione alla codecisione."),
        ),
        _facet_chart(
            tallies,
            query,
            "stato",
            N_("Processi per stato di avanzamento"),
            N_("Quanti processi sono in progetto, in corso o conclusi."),
            values=states,
        ),
        _facet_chart(
            tallies,
            query,
            "fonte",
            N_("Processi per fonte della segnalazione"),
            N_("Da chi è arrivata ogni scheda."),
        ),
        _facet_chart(
            tallies,
            query,
            "titolare",
            N_("Titolari della decisione più frequenti"),
            N_("Gli enti titolari della decisione con più processi."),
            note=N_("Un processo con più titolari conta per ognuno: la somma può superare il totale."),
        ),
        _facet_chart(
            tallies,
            query,
            "tematica",
            N_("Tematiche più frequenti"),
            N_("Le tematiche specifiche dei processi."),
            note=N_(
                "Un processo con più tematiche conta una volta per ognuna: la somma delle tematiche "
                "supera il numero dei processi."
            ),
        ),
        _amounts(
            tallies,
            query,
            "programma",
            N_("Investimento per programma di finanziamento"),
            N_("programma"),
        ),
        _amounts(tallies, query, "fondo", N_("Investimento per fondo"), N_("fondo")),
    ]
    return Statistics(
        total=tallies.total,
        charts=[chart for chart in charts if chart is not None],
        corrected_from=tallies.corrected_from,
        corrected_text=tallies.corrected_text,
        partial=tallies.partial,
    )


def csv_rows(chart: Chart, base_url: str) -> tuple[tuple[str, ...], list[dict]]:
    """The columns and rows of a chart's CSV: its numbers, and the search behind each bar."""
    columns = ("valore", "etichetta", "processi")
    if chart.part_label:
        columns += ("in_corso",)
    if chart.unit == "euro":
        columns += ("investimento_euro",)
    columns += ("ricerca",)
    rows = [
        {
            "valore": bar.value,
            "etichetta": bar.label,
            "processi": bar.processes,
            "in_corso": bar.part,
            "investimento_euro": f"{bar.number:.2f}",
            "ricerca": base_url + bar.href,
        }
        for bar in chart.bars
    ]
    return columns, rows

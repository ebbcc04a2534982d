"""Every field of a process record, declared once.

A *record* is a process in the import format (``osservatorio/processi``, see the README): import
files, exports, submissions and revisions hold records. What a field is called, how it is labelled
in Italian and in English, its type, whether the public may propose it, its length limit, its
vocabulary and its help text are said here and nowhere else: validation, saving and reading the
tables, the process form, the API schema, the differences between versions, the index documents
and the templates all take them from :data:`FIELDS`.

Adding a plain text field to processes: declare it below, add its column to ``tables.Process``
and make a migration; show it on ``templates/process.html`` if the public page should have it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType

from observatory.catalogue.tables import (
    LICENCES,
    ORGANISATION_ROLES,
    PROCESS_STATES,
    PROJECT_STATES,
    WORK_STATES,
)
from observatory.i18n import ENGLISH, N_, current_language

MIN_YEAR, MAX_YEAR = 1900, 2100
#: The most participants a process may count.
MAX_COUNT = 100_000_000
#: The most items a many-valued field may hold, unless it says otherwise (``limit``).
MAX_ITEMS = 100
#: The most projects a process may list.
MAX_PROJECTS = 1_000
#: Decimal places kept of a latitude or longitude (about 10 cm).
COORDINATE_DECIMALS = 6
#: The most characters of a web address.
MAX_URL = 1_000
#: The most characters of an organisation's name.
MAX_NAME = 300

# Field types: what values a field holds (see Field.type).
TEXT = "text"  #: trimmed text; ``limit`` characters at the most
SLUG = "slug"  #: lower-case letters, digits and hyphens
YEAR = "year"  #: a year between MIN_YEAR and MAX_YEAR
COUNT = "count"  #: a whole number from 0 to MAX_COUNT
FLAG = "flag"  #: yes or no
CHOICE = "choice"  #: one key of ``choices``
TERM = "term"  #: one term of ``vocabulary`` (its slug)
TERMS = "terms"  #: several terms of ``vocabulary``
NAMES = "names"  #: organisations by name (matched, or created, when saved)
TERRITORIES = "territories"  #: ISTAT territory codes (IT, R01, P201, C001272)
ROWS = "rows"  #: repeated rows of ``parts``
ROLES = "roles"  #: rows of an organisation's name and its role
GROUP = "group"  #: one set of ``parts``, or nothing
AMOUNT = "amount"  #: euro, at most two decimals
DATE = "date"  #: a day
URL = "url"  #: an http(s) address
CUP = "cup"  #: a Codice Unico di Progetto
TIMESTAMP = "timestamp"  #: a moment, in UTC
LATITUDE = "latitude"  #: degrees north, WGS84, in Italy (with a longitude beside it)
LONGITUDE = "longitude"  #: degrees east, WGS84, in Italy

MANY_VALUED = frozenset({TERMS, NAMES, TERRITORIES, ROWS, ROLES})
#: How a form asks for each type, unless a field says otherwise.
WIDGETS = {
    TEXT: "text",
    YEAR: "number",
    COUNT: "number",
    FLAG: "checkbox",
    CHOICE: "select",
    TERM: "select",
    TERMS: "checkboxes",
    NAMES: "lines",
    TERRITORIES: "lines",
    AMOUNT: "amount",
    DATE: "date",
    URL: "url",
    CUP: "text",
    LATITUDE: "coordinate",
    LONGITUDE: "coordinate",
}


@dataclass(frozen=True)
class Field:
    """One field of a process record, or one part of a field made of parts (``funding.cup``)."""

    #: Key in the record ("start_year"); a part's key inside its field ("cup").
    name: str
    #: What Italian readers and editors see ("Anno di avvio").
    label: str
    #: The same in English ("Start year").
    label_en: str
    #: What values it holds: one of the types above.
    type: str = TEXT
    #: Whether the public may propose it, in the form and the API of submissions; the others
    #: (slug, reporting source, editors' notes, timestamps) are set by the editorial office.
    public: bool = True
    #: At most this many characters (text), or rows (repeated rows; MAX_ITEMS if not said).
    limit: int | None = None
    #: The editors' vocabulary its terms come from ("tipo", "tematica"...).
    vocabulary: str | None = None
    #: The allowed values of a choice, with their Italian labels.
    choices: Mapping[str, str] | None = None
    #: A record without it is refused.
    required: bool = False
    #: Made when a record leaves it out (a slug from the title, the moment of saving...), so a
    #: stored process always has it.
    generated: bool = False
    #: Help shown under its input in the form.
    help: str = ""
    #: The same in English.
    help_en: str = ""
    #: The parts of a group, or of each row.
    parts: tuple[Field, ...] = ()
    #: What one row is called ("Fase"), for repeated rows.
    item_label: str | None = None
    #: The same in English ("Phase").
    item_label_en: str | None = None
    #: The part a plain-text item of a list of rows stands for ("title" of a phase).
    shorthand: str | None = None
    #: The value a plain-text item gives this part (a plain organisation name is a partner).
    default: str | None = None
    #: The section of the process form it is asked in: the public's form asks for the public fields
    #: only, the editors' for every field that has a section (all but the timestamps, set on saving).
    section: str | None = None
    #: How the form asks for it, when not as its type does ("textarea" for long texts).
    widget: str | None = None
    #: The column it is stored in, when not one named after it.
    column: str | None = None
    #: The index field its words go to: "body" (the text) or "about" (names, places, labels).
    searched: str | None = None
    #: The parameter of /processi that filters by it, and the facet that counts its values.
    facet: str | None = None

    @property
    def many(self) -> bool:
        """Whether it holds a list of values."""
        return self.type in MANY_VALUED

    @property
    def form_widget(self) -> str:
        return self.widget or WIDGETS.get(self.type, "text")

    @property
    def stored_in(self) -> str:
        """Its column in the table of its record (the process, or the table of its rows)."""
        if self.column:
            return self.column
        return f"{self.name}_cents" if self.type == AMOUNT else self.name

    def part(self, name: str) -> Field:
        return next(part for part in self.parts if part.name == name)


_DATE_HELP = "Giorno, mese e anno."
#: How an amount is written in the examples of the form's help and of the error messages.
AMOUNT_EXAMPLE = "1.234.567,89"
_AMOUNT_HELP = f"In euro, ad esempio {AMOUNT_EXAMPLE}."
_LATITUDE_HELP = "In gradi decimali (WGS84), ad esempio 44.4938: si legge su qualsiasi mappa online."
_LONGITUDE_HELP = "In gradi decimali (WGS84), ad esempio 11.3426."
_DATE_HELP_EN = "Day, month and year."
_AMOUNT_HELP_EN = (
    f"In euro, for example {AMOUNT_EXAMPLE} (Italian style: dots for thousands, a comma for cents)."
)
_LATITUDE_HELP_EN = "In decimal degrees (WGS84), for example 44.4938: any online map shows it."
_LONGITUDE_HELP_EN = "In decimal degrees (WGS84), for example 11.3426."


def _place(prefix: str = "", prefix_en: str = "") -> tuple[Field, ...]:
    """The place of a process or of one of its projects: below the comune, down to a point."""
    return (
        Field(
            "district",
            "Quartiere o circoscrizione",
            "District",
            limit=200,
            help=f"Se {prefix}riguarda una parte del comune: ad esempio «Navile» o «Circoscrizione I».",
            help_en=f"If {prefix_en}concerns part of the comune: for example “Navile” or “Circoscrizione I”.",
            section="chi-dove",
            searched="about",
        ),
        Field(
            "address",
            "Indirizzo o luogo",
            "Address or place",
            limit=300,
            help="Ad esempio «Piazza Fonderia» o «Parco Cavaioni».",
            help_en="For example “Piazza Fonderia” or “Parco Cavaioni”.",
            section="chi-dove",
            searched="about",
        ),
        Field(
            "latitude",
            "Latitudine",
            "Latitude",
            LATITUDE,
            help=_LATITUDE_HELP,
            help_en=_LATITUDE_HELP_EN,
            section="chi-dove",
        ),
        Field(
            "longitude",
            "Longitudine",
            "Longitude",
            LONGITUDE,
            help=_LONGITUDE_HELP,
            help_en=_LONGITUDE_HELP_EN,
            section="chi-dove",
        ),
    )


#: Roles an organisation can have besides decision holder.
OTHER_ROLES = MappingProxyType({key: label for key, label in ORGANISATION_ROLES.items() if key != "titolare"})

#: Every field of a process record, in record order: the order of the import format, of the API and
#: of the process form within each of its sections.
FIELDS: tuple[Field, ...] = (
    Field(
        "slug",
        "Indirizzo (slug)",
        "Address (slug)",
        SLUG,
        public=False,
        limit=160,
        generated=True,
        help="L'ultima parte dell'indirizzo della scheda, /processi/…: lettere minuscole, cifre e trattini. "
        "Se lo cambi, il vecchio indirizzo rimanda al nuovo; se lo lasci vuoto, si ricava dal titolo.",
        help_en="The last part of the record's address, /processi/…: lower-case letters, digits and "
        "hyphens. If you change it, the old address leads to the new one; left empty, it is made "
        "from the title.",
        section="redazione",
    ),
    Field(
        "title",
        "Titolo",
        "Title",
        required=True,
        limit=300,
        help="Il nome con cui il processo è conosciuto (almeno 3 caratteri).",
        help_en="The name the process is known by (at least 3 characters).",
        section="processo",
    ),
    Field(
        "kind",
        "Tipo di processo",
        "Kind of process",
        TERM,
        vocabulary="tipo",
        section="processo",
        searched="about",
        facet="tipo",
    ),
    Field(
        "summary",
        "Sintesi",
        "Summary",
        limit=2_000,
        help="Due o tre frasi: compaiono negli elenchi e nei risultati di ricerca.",
        help_en="Two or three sentences: they appear in lists and search results.",
        section="processo",
        widget="textarea",
        searched="body",
    ),
    Field(
        "description",
        "Descrizione",
        "Description",
        limit=50_000,
        help="Come è nato, chi ha coinvolto, come si è svolto. Separa i paragrafi con una riga vuota.",
        help_en="How it began, whom it involved, how it went. Separate paragraphs with an empty line.",
        section="processo",
        widget="textarea",
        searched="body",
    ),
    Field(
        "decision_holders",
        "Titolari della decisione",
        "Decision holders",
        NAMES,
        limit=MAX_NAME,
        help="Un ente per riga, con il nome ufficiale: ad esempio «Comune di Torino».",
        help_en="One organisation a line, with its official name: for example “Comune di Torino”.",
        section="chi-dove",
        searched="about",
        facet="titolare",
    ),
    Field(
        "organisations",
        "Altri enti coinvolti",
        "Other organisations involved",
        ROLES,
        help="Promotori, partner, finanziatori, beneficiari e soggetti attuatori, con il loro ruolo.",
        help_en="Promoters, partners, funders, beneficiaries and implementing bodies, with their role.",
        parts=(
            Field("name", "Nome dell'ente", "Name", required=True, limit=MAX_NAME),
            Field("role", "Ruolo", "Role", CHOICE, choices=OTHER_ROLES, required=True, default="partner"),
        ),
        item_label="Ente",
        item_label_en="Organisation",
        shorthand="name",
        section="chi-dove",
        searched="about",
        facet="ente",
    ),
    Field(
        "territories",
        "Territori interessati",
        "Territories",
        TERRITORIES,
        help="Un territorio per riga: il nome di un comune, di una provincia o di una regione, oppure il "
        "codice ISTAT. Ad esempio «Torino», «Chieri (TO)» o «R01». Se più comuni hanno lo stesso "
        "nome, aggiungi la sigla della provincia tra parentesi.",
        help_en="One territory a line: the name of a comune, a province or a region, or its ISTAT code. For"
        " example “Torino”, “Chieri (TO)” or “R01”. If several comuni share a name, add the "
        "province's abbreviation in brackets.",
        section="chi-dove",
        searched="about",
        facet="territorio",
    ),
    *_place("il processo ", "the process "),
    Field(
        "theme",
        "Ambito di intervento",
        "Theme area",
        TERM,
        vocabulary="ambito",
        section="processo",
        searched="about",
        facet="ambito",
    ),
    Field(
        "topics",
        "Tematica specifica",
        "Topics",
        TERMS,
        vocabulary="tematica",
        help="Scegli una o più tematiche.",
        help_en="Choose one or more topics.",
        section="processo",
        searched="about",
        facet="tematica",
    ),
    Field(
        "start_year",
        "Anno di avvio",
        "Start year",
        YEAR,
        help="Ad esempio 2019.",
        help_en="For example 2019.",
        section="processo",
        searched="body",
    ),
    Field(
        "end_year",
        "Anno di chiusura",
        "End year",
        YEAR,
        help="Lascialo vuoto se il processo è ancora in corso.",
        help_en="Leave it empty if the process is still going on.",
        section="processo",
        searched="body",
    ),
    Field("ongoing", "Il processo è ancora in corso", "Still ongoing", FLAG, section="processo"),
    Field(
        "state",
        "Stato di avanzamento",
        "State of progress",
        CHOICE,
        choices=PROCESS_STATES,
        section="processo",
        facet="stato",
    ),
    Field(
        "work_state",
        "Stato dell'intervento",
        "State of the work",
        CHOICE,
        choices=WORK_STATES,
        help="Se il processo riguarda un'opera o un progetto (un monitoraggio civico, un patto di cura): "
        "a che punto è l'intervento, che può essere diverso dallo stato del processo.",
        help_en="If the process is about a work or a project (a civic monitoring, a care pact): how far the"
        " work has got, which may differ from the state of the process.",
        section="processo",
        facet="intervento",
    ),
    Field(
        "phases",
        "Fasi del percorso",
        "Phases",
        ROWS,
        help="Per ogni fase bastano il titolo e, se le conosci, le date.",
        help_en="For each phase the title is enough and, if you know them, the dates.",
        parts=(
            Field("title", "Titolo della fase", "Title", required=True, limit=300, searched="body"),
            Field(
                "description",
                "Descrizione della fase",
                "Description",
                limit=20_000,
                widget="textarea",
                searched="body",
            ),
            Field("start_date", "Inizio", "Start", DATE, help=_DATE_HELP, help_en=_DATE_HELP_EN),
            Field("end_date", "Fine", "End", DATE, help=_DATE_HELP, help_en=_DATE_HELP_EN),
        ),
        item_label="Fase",
        item_label_en="Phase",
        shorthand="title",
        section="fasi",
        searched="body",
    ),
    Field(
        "goals",
        "Obiettivi",
        "Goals",
        limit=20_000,
        help="Che cosa il processo voleva ottenere.",
        help_en="What the process set out to achieve.",
        section="obiettivi",
        widget="textarea",
        searched="body",
    ),
    Field(
        "results",
        "Risultati",
        "Results",
        limit=20_000,
        help="Che cosa ha prodotto: decisioni, opere, patti, servizi.",
        help_en="What it produced: decisions, works, pacts, services.",
        section="obiettivi",
        widget="textarea",
        searched="body",
    ),
    Field(
        "projects",
        "Progetti e proposte",
        "Projects and proposals",
        ROWS,
        limit=MAX_PROJECTS,
        help="Ciò che il processo ha prodotto o selezionato: i progetti di un bilancio partecipativo, "
        "le proposte di una co-progettazione.",
        help_en="What the process produced or selected: the projects of a participatory budget, the "
        "proposals of a co-design.",
        parts=(
            Field("title", "Titolo del progetto", "Title", required=True, limit=300, searched="body"),
            Field(
                "description",
                "Descrizione del progetto",
                "Description",
                limit=10_000,
                widget="textarea",
                searched="body",
            ),
            *(replace(part, section=None) for part in _place("il progetto ", "the project ")),
            Field("amount", "Importo", "Amount", AMOUNT, help=_AMOUNT_HELP, help_en=_AMOUNT_HELP_EN),
            Field("state", "Stato del progetto", "State", CHOICE, choices=PROJECT_STATES),
            Field(
                "votes",
                "Voti ricevuti",
                "Votes",
                COUNT,
                help="Se è stato votato e i voti sono noti.",
                help_en="If it was voted on and the votes are known.",
            ),
            Field("link", "Pagina del progetto", "Web page", URL, limit=MAX_URL),
        ),
        item_label="Progetto",
        item_label_en="Project",
        shorthand="title",
        section="progetti",
        searched="body",
    ),
    Field(
        "participation_level",
        "Livello di partecipazione",
        "Participation level",
        TERM,
        vocabulary="livello",
        section="partecipanti",
        searched="about",
        facet="livello",
    ),
    Field(
        "methods",
        "Metodi e strumenti",
        "Methods and tools",
        TERMS,
        vocabulary="metodo",
        help="Scegli uno o più metodi usati.",
        help_en="Choose one or more of the methods used.",
        section="partecipanti",
        searched="about",
    ),
    Field(
        "participants_count",
        "Numero di partecipanti",
        "Number of participants",
        COUNT,
        help="Un numero intero, anche stimato.",
        help_en="A whole number, estimated if need be.",
        section="partecipanti",
    ),
    Field(
        "participants_kind",
        "Chi ha partecipato",
        "Who took part",
        limit=1_000,
        help="Ad esempio: residenti del quartiere, associazioni, scuole.",
        help_en="For example: residents of the neighbourhood, associations, schools.",
        section="partecipanti",
        widget="textarea",
        searched="body",
    ),
    Field(
        "funding",
        "Finanziamento",
        "Funding",
        GROUP,
        parts=(
            Field(
                "programme",
                "Programma",
                "Programme",
                limit=2_000,
                help="Ad esempio: PON Città Metropolitane 2014-2020.",
                help_en="For example: PON Città Metropolitane 2014-2020.",
                column="funding_programme",
                searched="body",
                facet="programma",
            ),
            Field(
                "fund",
                "Fondo",
                "Fund",
                limit=300,
                help="Ad esempio: FESR.",
                help_en="For example: FESR (ERDF).",
                column="funding_fund",
                searched="body",
                facet="fondo",
            ),
            Field(
                "total_investment",
                "Investimento totale",
                "Total investment",
                AMOUNT,
                help=_AMOUNT_HELP,
                help_en=_AMOUNT_HELP_EN,
            ),
            Field(
                "cofinancing",
                "Cofinanziamento",
                "Co-financing",
                AMOUNT,
                help=_AMOUNT_HELP,
                help_en=_AMOUNT_HELP_EN,
            ),
            Field(
                "beneficiary",
                "Beneficiario",
                "Beneficiary",
                limit=500,
                column="funding_beneficiary",
                searched="body",
            ),
            Field(
                "cup",
                "Codice CUP",
                "CUP code",
                CUP,
                limit=15,
                help="15 caratteri, ad esempio J41B12000010007.",
                help_en="15 characters, for example J41B12000010007.",
                searched="body",
            ),
            Field(
                "phases",
                "Fasi finanziate",
                "Funded phases",
                ROWS,
                help="Le tranche del finanziamento, se ce ne sono più di una.",
                help_en="The instalments of the funding, if there is more than one.",
                parts=(
                    Field(
                        "label",
                        "Nome della fase",
                        "Name",
                        required=True,
                        limit=200,
                        help="Ad esempio: I Fase.",
                        help_en="For example: I Fase (first phase).",
                    ),
                    Field("start_date", "Inizio", "Start", DATE, help=_DATE_HELP, help_en=_DATE_HELP_EN),
                    Field("end_date", "Conclusione", "End", DATE, help=_DATE_HELP, help_en=_DATE_HELP_EN),
                    Field(
                        "investment",
                        "Investimento",
                        "Investment",
                        AMOUNT,
                        help=_AMOUNT_HELP,
                        help_en=_AMOUNT_HELP_EN,
                    ),
                    Field(
                        "cofinancing",
                        "Cofinanziamento",
                        "Co-financing",
                        AMOUNT,
                        help=_AMOUNT_HELP,
                        help_en=_AMOUNT_HELP_EN,
                    ),
                    Field("beneficiary", "Beneficiario", "Beneficiary", limit=500),
                ),
                item_label="Fase finanziata",
                item_label_en="Funded phase",
            ),
        ),
        section="finanziamento",
        searched="body",
    ),
    Field(
        "links",
        "Collegamenti",
        "Links",
        ROWS,
        help="L'indirizzo della pagina, ad esempio www.comune.chieri.to.it/partecipa: "
        "se manca, https:// si aggiunge da sé.",
        help_en="The page's address, for example www.comune.chieri.to.it/partecipa: https:// is added when "
        "it is missing.",
        parts=(
            Field(
                "label",
                "Descrizione",
                "Label",
                limit=300,
                help="Ad esempio: Sito del progetto.",
                help_en="For example: Project website.",
                generated=True,
            ),
            Field("url", "Indirizzo web", "Web address", URL, required=True, limit=MAX_URL),
        ),
        item_label="Collegamento",
        item_label_en="Link",
        shorthand="url",
        section="collegamenti",
    ),
    Field(
        "reporting_source",
        "Processo segnalato da",
        "Reported through",
        TERM,
        public=False,
        vocabulary="fonte",
        help="Il canale da cui la scheda è arrivata all'Osservatorio.",
        help_en="The channel through which the record reached the Observatory.",
        section="fonte",
        facet="fonte",
    ),
    Field(
        "reported_by",
        "Segnalato da",
        "Reported by",
        limit=500,
        help="Il nome dell'ente o della persona che segnala, come deve comparire nella scheda pubblica.",
        help_en="The name of the organisation or person submitting, as it should appear on the public "
        "record.",
        section="fonte",
    ),
    Field(
        "credits",
        "Autori e crediti",
        "Credits",
        limit=1_000,
        help="Chi ha scritto o realizzato ciò che la scheda racconta: un gruppo, una scuola, un programma.",
        help_en="Who wrote or made what the record tells: a group, a school, a programme.",
        section="fonte",
    ),
    Field(
        "quality_notes",
        "Certificazione di qualità del Tecnico di Garanzia",
        "Quality certification notes",
        public=False,
        limit=10_000,
        section="redazione",
        widget="textarea",
    ),
    Field(
        "regional_call_notes",
        "Adesione al bando regionale annuale",
        "Regional call notes",
        public=False,
        limit=10_000,
        section="redazione",
        widget="textarea",
    ),
    Field(
        "source_licence",
        "Fonte e attribuzione",
        "Source and attribution",
        public=False,
        limit=2_000,
        section="redazione",
    ),
    Field(
        "source_ref",
        "Riferimento nella fonte",
        "Reference in the source",
        public=False,
        limit=120,
        help="La chiave della scheda nella fonte da cui è stata importata (ad esempio monithon:757): "
        "un'importazione successiva aggiorna la scheda che ha la stessa chiave.",
        help_en="The record's key in the source it was imported from (for example monithon:757): a later "
        "import updates the record with the same key.",
        section="redazione",
    ),
    Field(
        "original_title",
        "Titolo originale",
        "Original title",
        public=False,
        limit=300,
        help="Il titolo come lo scrive la fonte, se quello mostrato è stato corretto.",
        help_en="The title as the source writes it, if the one shown was corrected.",
        section="redazione",
        searched="body",
    ),
    Field(
        "licence",
        "Licenza",
        "Licence",
        CHOICE,
        public=False,
        choices=LICENCES,
        generated=True,
        default="CC-BY-4.0",
        section="redazione",
    ),
    Field("created_at", "Creato il", "Created", TIMESTAMP, public=False, generated=True),
    Field("updated_at", "Data ultima modifica", "Last changed", TIMESTAMP, public=False, generated=True),
    Field("published_at", "Pubblicato il", "Published", TIMESTAMP, public=False),
)

#: How far a process reaches, from its territories (the facet ``scala``; see documents.territorial_scale).
TERRITORIAL_SCALES = {
    "nazionale": N_("Nazionale"),
    "piu_regioni": N_("Più regioni"),
    "regionale": N_("Regionale"),
    "provinciale": N_("Provinciale o di più province"),
    "piu_comuni": N_("Più comuni di una provincia"),
    "comunale": N_("Comunale"),
}
#: Facets no stored field holds: the index derives them from other fields of the process.
DERIVED_FACETS: tuple[Field, ...] = (
    Field(
        "territorial_scale",
        "Scala territoriale",
        "Territorial scale",
        CHOICE,
        public=False,
        choices=TERRITORIAL_SCALES,
        facet="scala",
    ),
)

#: Fields by name.
BY_NAME: Mapping[str, Field] = MappingProxyType({f.name: f for f in FIELDS})
#: Names of the fields the public may propose, in record order.
PUBLIC_FIELDS: tuple[str, ...] = tuple(f.name for f in FIELDS if f.public)
#: Names of the fields the editors' form asks for, in record order: the public ones and the editors'
#: own (every field but the timestamps, which saving sets).
EDITORIAL_FIELDS: tuple[str, ...] = tuple(f.name for f in FIELDS if f.section)
#: What a list shows of a process (its card; search results carry it from the index).
CARD_FIELDS = (
    "slug",
    "title",
    "summary",
    "kind",
    "theme",
    "start_year",
    "end_year",
    "ongoing",
    "state",
    "territories",
    "decision_holders",
    "updated_at",
)
#: Italian labels by field name, for templates and messages.
LABELS: Mapping[str, str] = MappingProxyType({f.name: f.label for f in FIELDS})
#: The editors' vocabularies, named as the field that takes its terms from each.
VOCABULARIES: Mapping[str, str] = MappingProxyType({f.vocabulary: f.label for f in FIELDS if f.vocabulary})
#: The same in English.
VOCABULARIES_EN: Mapping[str, str] = MappingProxyType(
    {f.vocabulary: f.label_en for f in FIELDS if f.vocabulary}
)
#: Which vocabulary each term field takes its terms from.
VOCABULARY_OF: Mapping[str, str] = MappingProxyType({f.name: f.vocabulary for f in FIELDS if f.vocabulary})


def walk(fields: tuple[Field, ...] = FIELDS, prefix: str = "") -> Iterator[tuple[str, Field]]:
    """Every field and part, with its dotted path ("funding.phases.label"), parents first."""
    for declared in fields:
        path = f"{prefix}{declared.name}"
        yield path, declared
        yield from walk(declared.parts, f"{path}.")


#: Every field and part by dotted path ("funding.cup").
BY_PATH: Mapping[str, Field] = MappingProxyType(dict(walk()))
#: Italian labels by dotted path, for templates (``labels["funding.cup"]``).
PATH_LABELS: Mapping[str, str] = MappingProxyType({path: d.label for path, d in BY_PATH.items()})
#: The same in English, for the English pages.
PATH_LABELS_EN: Mapping[str, str] = MappingProxyType({path: d.label_en for path, d in BY_PATH.items()})


def vocabulary_name(vocabulary: str) -> str:
    """The name of ``vocabulary`` in the current language (the label of the field that uses it)."""
    return (VOCABULARIES_EN if current_language() == ENGLISH else VOCABULARIES)[vocabulary]


def path_label(path: str) -> str:
    """The label of the field or part at ``path`` in the current language."""
    return (PATH_LABELS_EN if current_language() == ENGLISH else PATH_LABELS)[path]


#: The allowed values of each choice field or part, with their labels, by dotted path.
PATH_CHOICES: Mapping[str, Mapping[str, str]] = MappingProxyType(
    {path: d.choices for path, d in BY_PATH.items() if d.choices}
)
#: What the index counts and /processi filters by, by facet name: the dotted path of the value each
#: facet reads in a process's detail ("funding.programme"), and its field.
FACETED: Mapping[str, tuple[str, Field]] = MappingProxyType(
    {
        declared.facet: (path, declared)
        for path, declared in [*walk(), *walk(DERIVED_FACETS)]
        if declared.facet
    }
)

"""Tables of the catalogue: territories, organisations, vocabularies and processes.

Money is stored as whole euro cents (``BigInt``): exact on SQLite and PostgreSQL alike.
A value that is unknown is ``NULL``, never an empty string.
"""

from piccolo.columns import (
    BigInt,
    Boolean,
    Date,
    DoublePrecision,
    ForeignKey,
    Integer,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from observatory.i18n import N_

# The labels below are Italian, marked for the catalogue and translated where they are shown.
TERRITORY_LEVELS = {
    "paese": N_("Paese"),
    "regione": N_("Regione"),
    "provincia": N_("Provincia"),
    "comune": N_("Comune"),
}
PROCESS_STATES = {"in_progetto": N_("In progetto"), "in_corso": N_("In corso"), "concluso": N_("Concluso")}
#: The state of the work a process is about (the project a civic-monitoring report follows, the
#: works a pact cares for): not the state of the process itself.
WORK_STATES = {
    "non_avviato": N_("Non avviato"),
    "in_corso": N_("In corso"),
    "in_difficolta": N_("In corso con difficoltà"),
    "bloccato": N_("Bloccato"),
    "concluso": N_("Concluso"),
}
#: The state of a project or proposal of a process (a participatory budget's projects).
PROJECT_STATES = {
    "proposto": N_("Proposto"),
    "ammesso": N_("Ammesso al voto"),
    "non_ammesso": N_("Non ammesso"),
    "vincitore": N_("Vincitore"),
    "in_realizzazione": N_("In realizzazione"),
    "realizzato": N_("Realizzato"),
}
#: The licences records are published under, by SPDX identifier.
LICENCES = {
    "CC-BY-4.0": N_("Creative Commons Attribuzione 4.0 (CC BY 4.0)"),
    "CC-BY-SA-4.0": N_("Creative Commons Attribuzione - Condividi allo stesso modo 4.0 (CC BY-SA 4.0)"),
}
#: Where each licence is written in full.
LICENCE_URLS = {
    "CC-BY-4.0": "https://creativecommons.org/licenses/by/4.0/deed.it",
    "CC-BY-SA-4.0": "https://creativecommons.org/licenses/by-sa/4.0/deed.it",
}
ORGANISATION_ROLES = {
    "titolare": N_("Titolare della decisione"),
    "promotore": N_("Promotore"),
    "partner": N_("Partner"),
    "finanziatore": N_("Finanziatore"),
    "beneficiario": N_("Beneficiario"),
    "attuatore": N_("Soggetto attuatore"),
}
ORGANISATION_KINDS = {
    "comune": N_("Comune"),
    "unione_comuni": N_("Unione di comuni"),
    "provincia": N_("Provincia o città metropolitana"),
    "regione": N_("Regione"),
    "ministero": N_("Ministero o dipartimento"),
    "agenzia": N_("Agenzia o ente pubblico"),
    "fondazione": N_("Fondazione"),
    "associazione": N_("Associazione o ente del terzo settore"),
    "universita": N_("Università o ente di ricerca"),
    "scuola": N_("Scuola"),
    "impresa": N_("Impresa"),
    "istituzione_ue": N_("Istituzione europea"),
    "gruppo_informale": N_("Gruppo informale di cittadini"),
    "altro": N_("Altro"),
}


class Territory(Table):
    """An Italian comune, province, region, or the whole country (``IT``)."""

    #: Public identifier: IT, R01, P201, C001272.
    code = Varchar(length=8, primary_key=True)
    #: Official Italian name ("Torino", "Città metropolitana di Torino").
    name = Varchar(length=200, index=True)
    #: Accent- and case-folded name, for look-ups.
    name_key = Varchar(length=200, index=True)
    #: paese, regione, provincia or comune.
    level = Varchar(length=12)
    #: The unit directly above (comune → provincia → regione → IT).
    parent = ForeignKey("self", null=True)
    #: Region code of this unit (R01), itself for a region, NULL for IT.
    region_code = Varchar(length=8, null=True, default=None, index=True)
    #: Province code (P201) of a comune, itself for a province, otherwise NULL.
    province_code = Varchar(length=8, null=True, default=None, index=True)
    #: Car plate code of a province or of a comune's province ("TO").
    plate = Varchar(length=4, null=True, default=None)


class Organisation(Table):
    """A body that decides, promotes, funds or takes part in processes."""

    #: Stable public identifier in URLs.
    slug = Varchar(length=120, unique=True)
    #: Preferred name ("Comune di Torino").
    name = Varchar(length=300)
    #: One of ORGANISATION_KINDS.
    kind = Varchar(length=20, default="altro")
    #: A comune's own council links to its comune, a region's to the region.
    territory = ForeignKey(Territory, null=True)
    #: Short description, if known.
    description = Text(null=True, default=None)
    #: Website, if known.
    website = Varchar(length=500, null=True, default=None)


class OrganisationName(Table):
    """A name an organisation is known by, its preferred one included ("Città di Torino")."""

    #: The organisation.
    organisation = ForeignKey(Organisation, null=False)
    #: The name as written.
    name = Varchar(length=300)
    #: Accent-, case- and punctuation-folded name: the key organisations are matched by.
    name_key = Varchar(length=300, unique=True)


class OrganisationRedirect(Table):
    """An old organisation slug that keeps answering after a rename or a merge."""

    #: The old slug.
    old_slug = Varchar(length=120, unique=True)
    #: Where it leads now.
    organisation = ForeignKey(Organisation, null=False)


class Term(Table):
    """A term of an editors' vocabulary (kind, theme area, topic, level, method, source)."""

    #: The vocabulary (fields.VOCABULARIES): tipo, ambito, tematica, livello, metodo or fonte.
    vocabulary = Varchar(length=12, index=True)
    #: Identifier within the vocabulary, used in URLs and imports.
    slug = Varchar(length=120)
    #: Italian label shown to readers.
    label = Varchar(length=200)
    #: English label shown on the English pages (the Italian one there when it is unknown).
    label_en = Varchar(length=200, null=True, default=None)
    #: Optional explanation for editors and submitters.
    description = Text(null=True, default=None)
    #: Order within the vocabulary.
    position = Integer(default=0)


class Process(Table):
    """A participatory or shared-administration process: the catalogue entry."""

    #: Stable public identifier; old ones keep redirecting (see SlugRedirect).
    slug = Varchar(length=160, unique=True)
    #: Title.
    title = Varchar(length=300)
    #: Accent- and case-folded title, for sorting and duplicate checks.
    title_key = Varchar(length=300, index=True)
    #: Kind of process (vocabulary "tipo").
    kind = ForeignKey(Term, null=True)
    #: One-paragraph summary.
    summary = Text(null=True, default=None)
    #: Full description.
    description = Text(null=True, default=None)
    #: Theme area (vocabulary "ambito").
    theme = ForeignKey(Term, null=True)
    #: Year the process started.
    start_year = Integer(null=True, default=None, index=True)
    #: Year it ended; NULL while ongoing or unknown.
    end_year = Integer(null=True, default=None)
    #: Still going on (then end_year is NULL).
    ongoing = Boolean(default=False)
    #: Quartiere or circoscrizione, below the comune.
    district = Varchar(length=200, null=True, default=None)
    #: Address or place ("Parco Cavaioni", "Piazza Fonderia").
    address = Varchar(length=300, null=True, default=None)
    #: Latitude of its place (WGS84), with longitude or not at all.
    latitude = DoublePrecision(null=True, default=None)
    #: Longitude of its place (WGS84).
    longitude = DoublePrecision(null=True, default=None)
    #: in_progetto, in_corso or concluso; NULL when unknown.
    state = Varchar(length=12, null=True, default=None)
    #: State of the work the process is about (WORK_STATES); NULL when unknown.
    work_state = Varchar(length=16, null=True, default=None)
    #: Goals.
    goals = Text(null=True, default=None)
    #: Results.
    results = Text(null=True, default=None)
    #: Participation level (vocabulary "livello").
    participation_level = ForeignKey(Term, null=True)
    #: How many took part, when known.
    participants_count = Integer(null=True, default=None)
    #: Who took part ("cittadini, associazioni, scuole").
    participants_kind = Text(null=True, default=None)
    #: Funding programme ("PON Governance e Assistenza Tecnica 2007-2013").
    funding_programme = Text(null=True, default=None)
    #: Fund ("FESR", "Fondo di Rotazione").
    funding_fund = Varchar(length=300, null=True, default=None)
    #: Total investment in euro cents.
    total_investment_cents = BigInt(null=True, default=None)
    #: Co-financing in euro cents.
    cofinancing_cents = BigInt(null=True, default=None)
    #: Beneficiary as written on the funding sheet.
    funding_beneficiary = Varchar(length=500, null=True, default=None)
    #: CUP code (Codice Unico di Progetto).
    cup = Varchar(length=15, null=True, default=None)
    #: Reporting source (vocabulary "fonte").
    reporting_source = ForeignKey(Term, null=True)
    #: Public credit "Segnalato da".
    reported_by = Varchar(length=500, null=True, default=None)
    #: Who wrote or carried out what the entry tells (a report's team, its school): a credit.
    credits = Text(null=True, default=None)
    #: Notes on the quality certification (Tecnico di Garanzia).
    quality_notes = Text(null=True, default=None)
    #: Notes on the regional annual call.
    regional_call_notes = Text(null=True, default=None)
    #: Attribution and licence of the record's source, when it came from open data.
    source_licence = Text(null=True, default=None)
    #: Key of the record in the source it was imported from ("monithon:757").
    source_ref = Varchar(length=120, null=True, default=None, index=True)
    #: The title as the source wrote it, when the shown one was re-cased or repaired.
    original_title = Varchar(length=300, null=True, default=None)
    #: The licence of the record (LICENCES).
    licence = Varchar(length=16, default="CC-BY-4.0")
    #: published or withdrawn; only published processes are public.
    publication = Varchar(length=12, default="published", index=True)
    #: Why a withdrawn process was withdrawn, shown on its 410 page.
    withdrawal_reason = Text(null=True, default=None)
    #: When the entry was created.
    created_at = Timestamptz(default=TimestamptzNow())
    #: When the entry last changed ("Data ultima modifica").
    updated_at = Timestamptz(default=TimestamptzNow(), index=True)
    #: When it was first published.
    published_at = Timestamptz(null=True, default=None, index=True)
    #: 1 when created, raised by every save: a form saved against an older version is refused.
    version = Integer(default=1)


class SlugRedirect(Table):
    """An old process slug that keeps redirecting after a rename."""

    #: The old slug.
    old_slug = Varchar(length=160, unique=True)
    #: The process it leads to.
    process = ForeignKey(Process, null=False)


class ProcessOrganisation(Table):
    """An organisation's role in a process (decision holder, promoter, partner...)."""

    #: The process.
    process = ForeignKey(Process, null=False, index=True)
    #: The organisation.
    organisation = ForeignKey(Organisation, null=False, index=True)
    #: One of ORGANISATION_ROLES.
    role = Varchar(length=16, index=True)
    #: Order within the role, as entered.
    position = Integer(default=0)


class ProcessTerritory(Table):
    """A territory a process involves."""

    #: The process.
    process = ForeignKey(Process, null=False, index=True)
    #: The territory, at any level.
    territory = ForeignKey(Territory, null=False, index=True)
    #: Order as entered.
    position = Integer(default=0)


class ProcessTerm(Table):
    """A many-valued vocabulary tag of a process: specific topics and methods."""

    #: The process.
    process = ForeignKey(Process, null=False, index=True)
    #: The term (vocabulary "tematica" or "metodo").
    term = ForeignKey(Term, null=False, index=True)
    #: Order as entered.
    position = Integer(default=0)


class Phase(Table):
    """An ordered phase of a process."""

    #: The process.
    process = ForeignKey(Process, null=False, index=True)
    #: Order of the phase.
    position = Integer(default=0)
    #: Title.
    title = Varchar(length=300)
    #: What happened in it.
    description = Text(null=True, default=None)
    #: Start date, if known.
    start_date = Date(null=True, default=None)
    #: End date, if known.
    end_date = Date(null=True, default=None)


class FundingPhase(Table):
    """A funded phase, as on an OpenCoesione project sheet."""

    #: The process.
    process = ForeignKey(Process, null=False, index=True)
    #: Order of the phase.
    position = Integer(default=0)
    #: Label ("I Fase").
    label = Varchar(length=200)
    #: Start date, if known.
    start_date = Date(null=True, default=None)
    #: End date, if known.
    end_date = Date(null=True, default=None)
    #: Investment in euro cents.
    investment_cents = BigInt(null=True, default=None)
    #: Co-financing in euro cents.
    cofinancing_cents = BigInt(null=True, default=None)
    #: Beneficiary of this phase.
    beneficiary = Varchar(length=500, null=True, default=None)


class Project(Table):
    """A project or proposal a process produced or selected (a participatory budget's projects)."""

    #: The process.
    process = ForeignKey(Process, null=False, index=True)
    #: Order as entered.
    position = Integer(default=0)
    #: Title.
    title = Varchar(length=300)
    #: What it is.
    description = Text(null=True, default=None)
    #: Quartiere or circoscrizione.
    district = Varchar(length=200, null=True, default=None)
    #: Address or place.
    address = Varchar(length=300, null=True, default=None)
    #: Latitude (WGS84).
    latitude = DoublePrecision(null=True, default=None)
    #: Longitude (WGS84).
    longitude = DoublePrecision(null=True, default=None)
    #: Amount in euro cents.
    amount_cents = BigInt(null=True, default=None)
    #: One of PROJECT_STATES; NULL when unknown.
    state = Varchar(length=16, null=True, default=None)
    #: Votes received, when known.
    votes = Integer(null=True, default=None)
    #: Its page.
    link = Varchar(length=1000, null=True, default=None)


class Link(Table):
    """A labelled link of a process."""

    #: The process.
    process = ForeignKey(Process, null=False, index=True)
    #: Order as entered.
    position = Integer(default=0)
    #: What the link is.
    label = Varchar(length=300)
    #: The address (http or https).
    url = Varchar(length=1000)


#: The table holding the rows of each repeated field of a process record (see fields.py).
ROW_TABLES = {"phases": Phase, "projects": Project, "funding.phases": FundingPhase, "links": Link}

ALL_TABLES = (
    Territory,
    Organisation,
    OrganisationName,
    OrganisationRedirect,
    Term,
    Process,
    SlugRedirect,
    ProcessOrganisation,
    ProcessTerritory,
    ProcessTerm,
    Phase,
    FundingPhase,
    Project,
    Link,
)


class IndexChange(Table):
    """Outbox of the search index: a process whose index entries must be rewritten.

    Written in the same transaction as the change itself. Every index keeps its own position in
    it (catalogue/outbox.py), so several instances, each with its own index, apply every change,
    and a crash between the commit and the index write loses nothing.
    """

    #: The process that changed (it may since have been deleted).
    process_id = BigInt(index=True)
    #: PostgreSQL's id of the writing transaction (NULL on SQLite): how changes committed out of
    #: id order are found.
    txid = BigInt(null=True, default=None, index=True)
    #: When the change was written.
    created_at = Timestamptz(default=TimestamptzNow(), index=True)


ALL_TABLES = (*ALL_TABLES, IndexChange)

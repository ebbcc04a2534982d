"""Tables of curation: the revision history of published processes, and the groups of synonyms
the search applies."""

from piccolo.columns import JSON, Boolean, ForeignKey, Integer, OnDelete, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.columns.reference import LazyTableReference
from piccolo.table import Table

from observatory.accounts.tables import StaffUser
from observatory.catalogue.tables import Process


class ProcessRevision(Table):
    """A snapshot of a process after a change, so editors can compare and revert."""

    #: The process this is a version of.
    process = ForeignKey(Process, index=True)
    #: 1 for the first recorded version, then 2, 3, ...
    number = Integer()
    #: When the change was made (for version 1, when the process last changed before it).
    at = Timestamptz(default=TimestamptzNow())
    #: The staff member who made the change; NULL for imports and the command line.
    actor = ForeignKey(StaffUser, null=True, on_delete=OnDelete.set_null)
    #: Who made it, by name at the time (kept if the account changes).
    actor_name = Varchar(length=120)
    #: The submission this change came from, if any (submissions build on curation, so the table
    #: is named, not imported).
    submission = ForeignKey(
        LazyTableReference("Submission", app_name="submissions"), null=True, on_delete=OnDelete.set_null
    )
    #: What happened ("Approvata la segnalazione 12", "Modifica", "Ripristinata la versione 3").
    summary = Text(default="")
    #: The whole process as a record in the import format (``osservatorio/processi``).
    data = JSON(default="{}")
    #: The version of the process this revision is (Process.version); NULL for older revisions.
    version = Integer(null=True, default=None)
    #: Why the editor made the change, in their words ("Motivo della modifica"); NULL when not said.
    reason = Text(null=True, default=None)


class SynonymGroup(Table):
    """Expressions that find each other in a search ("PNRR", "piano nazionale di ripresa e
    resilienza"): shipped with the project (data/sinonimi.json) or added by the editors."""

    #: The expressions as people write them, in the editors' order (a JSON list of texts).
    expressions = JSON(default="[]")
    #: What the expressions mean and where the meaning comes from, for the editors ("" when none).
    note = Text(default="")
    #: The key of a shipped group in data/sinonimi.json; NULL for one the editors added.
    shipped_key = Varchar(length=60, null=True, default=None, unique=True)
    #: A shipped group the editors deleted: kept, so that loading the shipped list again does not
    #: bring it back (a group the editors added is deleted for good).
    deleted = Boolean(default=False)
    #: Raised by every change: a save from a page opened on another version is refused.
    version = Integer(default=1)
    #: When it last changed (for a shipped group never changed, when it was loaded).
    changed_at = Timestamptz(default=TimestamptzNow())
    #: Who changed it last, by name at the time; "" for the shipped list.
    changed_by = Varchar(length=120, default="")


ALL_TABLES = (ProcessRevision, SynonymGroup)

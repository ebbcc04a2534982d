"""Tables of curation: the revision history of published processes."""

from piccolo.columns import JSON, ForeignKey, Integer, OnDelete, Text, Timestamptz, Varchar
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


ALL_TABLES = (ProcessRevision,)

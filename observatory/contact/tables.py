"""Messages sent to the editors through the contact form."""

from piccolo.columns import ForeignKey, OnDelete, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from observatory.accounts.tables import StaffUser


class ContactMessage(Table):
    """A message to the editors from the contact form; private, deleted after the retention period
    (retention.py)."""

    #: The sender's name (private).
    sender_name = Varchar(length=200)
    #: The sender's e-mail address, to answer (private).
    sender_email = Varchar(length=254)
    #: The subject the sender wrote.
    subject = Varchar(length=200)
    #: The message.
    body = Text()
    #: Keyed hash of the sender's address, for the rate limit (the address itself is not kept);
    #: emptied once the limit no longer counts it.
    address_hash = Varchar(length=64, index=True)
    #: When the sender accepted the privacy notice.
    privacy_accepted_at = Timestamptz()
    #: When it was sent.
    created_at = Timestamptz(default=TimestamptzNow(), index=True)
    #: When an editor marked it as handled; NULL while it waits.
    handled_at = Timestamptz(null=True, default=None, index=True)
    #: The editor who marked it as handled.
    handled_by = ForeignKey(StaffUser, null=True, on_delete=OnDelete.set_null)


ALL_TABLES = (ContactMessage,)

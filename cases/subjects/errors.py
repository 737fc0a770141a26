"""The errors of register extracts, beneath `VidoroError` like every error of the records layer.

    RecordNotFound
    └── ExtractNotFound          no such request (a 404; the id is repeated, never the person)
    ExtractNotDecided            the extract is not released: not decided yet, or refused
    ExtractAlreadyDecided        a decision was taken already; a decision is never changed
    NoRecordsFound               nothing is held about the person: there is nothing to screen
    ExtractChanged               the released items changed since the decision: nothing was delivered
    DraftNotRead                 the decision maker has not read the draft as it now stands

None carries personal data: a request is named by its id, never by the identity number it was made for.
"""

from __future__ import annotations

from cases.errors import RecordNotFound
from workflow.errors import VidoroError

__all__ = ["DraftNotRead", "ExtractAlreadyDecided", "ExtractChanged", "ExtractNotDecided", "ExtractNotFound",
           "NoRecordsFound"]


class ExtractNotFound(RecordNotFound):
    code = "extract_not_found"

    def __init__(self, extract_id: str) -> None:
        super().__init__("extract", f"no register extract request {extract_id[:36]!r}",
                         f"ingen begäran om registerutdrag {extract_id[:36]!r}")
        self.extract_id = extract_id


class ExtractNotDecided(VidoroError):
    """Only a released extract is delivered: a decision maker decides release first (`status` says where it is)."""

    code = "extract_not_decided"

    def __init__(self, extract_id: str, status: str) -> None:
        if status == "refused":
            en, sv = "release was refused", "utlämnande har avslagits"
        else:
            en = "a decision maker has not decided release yet"
            sv = "en beslutsfattare har inte beslutat om utlämnande än"
        super().__init__(f"register extract {extract_id}: {en}; nothing was delivered",
                         message_sv=f"registerutdrag {extract_id}: {sv}; inget lämnades ut")
        self.extract_id, self.status = extract_id, status


class ExtractAlreadyDecided(VidoroError):
    code = "extract_already_decided"

    def __init__(self, extract_id: str) -> None:
        super().__init__(f"register extract {extract_id} has been decided already; a decision is not changed",
                         message_sv=f"registerutdrag {extract_id} är redan beslutat; ett beslut ändras inte")
        self.extract_id = extract_id


class NoRecordsFound(VidoroError):
    """No case names a person with this identity number: the answer to the person is that nothing is held."""

    code = "no_records_found"

    def __init__(self) -> None:
        super().__init__("no case is held about a person with this identity number",
                         message_sv="inget ärende finns om en person med detta personnummer")


class ExtractChanged(VidoroError):
    """What the decision released is no longer what the records say (an item screened and released was changed
    or a case erased since): the extract is not made; a new request is screened and decided afresh."""

    code = "extract_changed"

    def __init__(self, extract_id: str) -> None:
        super().__init__(f"register extract {extract_id}: the released items have changed since the decision; "
                         "nothing was delivered, register a new request",
                         message_sv=f"registerutdrag {extract_id}: de utlämnade uppgifterna har ändrats sedan "
                                    "beslutet; inget lämnades ut, registrera en ny begäran")
        self.extract_id = extract_id


class DraftNotRead(VidoroError):
    """A decision maker decides on the draft they read: not before reading it, nor after the records changed."""

    code = "extract_draft_not_read"

    def __init__(self, extract_id: str) -> None:
        super().__init__(f"register extract {extract_id}: read the draft as it stands now before deciding",
                         message_sv=f"registerutdrag {extract_id}: läs utkastet som det ser ut nu innan du "
                                    "beslutar")
        self.extract_id = extract_id

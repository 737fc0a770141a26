"""The register extract as PDF: pure, no database, no clock (the date is the one it was made on).

Made with the decision letter's document setup (`cases.decisions.letter.new_document`: A4, Swedish, the
shipped DejaVu fonts). A held-back item shows its heading and "Uppgiften lämnas inte ut: <reason>", never a
value: the screening left its text empty. A draft for the decision maker says so at its start and end, shows a
held-back free text beside its reason (for the decision maker to release it or not), and says that cases
registered without an identity number are not found.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from cases.decisions.letter import new_document
from cases.subjects.contents import Section
from policies.subjects import Reason

__all__ = ["ExtractDocument", "render_extract"]

DRAFT = "UTKAST FÖR SEKRETESSPRÖVNING – LÄMNAS INTE UT"
NOT_BY_NUMBER = ("Observera: ärenden som registrerades utan personnummer (med namn och ungefärlig ålder) hittas "
                 "inte på personnumret och finns inte i detta utkast; sök efter dem på annat sätt. "
                 "(Cases registered without an identity number are not found by number.)")
HELD_IN_DRAFT = "Hålls inne om du inte lämnar ut den"


@dataclass(frozen=True)
class ExtractDocument:
    """Everything the extract says; holds personal data: never print it."""

    municipality: str
    extract_id: str
    made_on: date
    sections: Sequence[Section]
    reasons: Mapping[str, Reason]
    draft: bool = False
    readers_named: bool = True

    def __repr__(self) -> str:
        return f"ExtractDocument(extract_id={self.extract_id!r}, sections={len(self.sections)}, draft={self.draft})"


def render_extract(doc: ExtractDocument) -> bytes:
    """The extract as PDF bytes."""
    pdf = new_document(f"Registerutdrag {doc.extract_id[:8]}", doc.made_on)
    _bold(pdf, 12, doc.municipality)
    _plain(pdf, "Socialtjänsten")
    if doc.draft:
        pdf.ln(2)
        _bold(pdf, 11, DRAFT)
        _plain(pdf, NOT_BY_NUMBER)
    pdf.ln(4)
    _bold(pdf, 16, "Registerutdrag")
    _plain(pdf, "Enligt artikel 15 i dataskyddsförordningen (GDPR): de personuppgifter socialtjänsten behandlar om "
                f"dig, per ärende, och vem som har läst dem. Upprättat {doc.made_on.isoformat()}, "
                f"begäran {doc.extract_id[:8]}.")
    for section in doc.sections:
        pdf.ln(5)
        _bold(pdf, 13, f"{section.title} {section.ref}")
        for name, value in section.facts:
            _plain(pdf, f"{name}: {value}")
        for item in section.items:
            pdf.ln(2)
            _bold(pdf, 10, item.heading)
            if item.reason is not None:
                reason = doc.reasons.get(item.reason)
                said = reason.text() if reason else item.reason
                if doc.draft and item.text:  # a held-back free text, for the decision maker to judge
                    _plain(pdf, f"{HELD_IN_DRAFT}: {said}")
                    _plain(pdf, item.text)
                else:
                    _plain(pdf, f"Uppgiften lämnas inte ut: {said}")
            else:
                _plain(pdf, item.text)
        pdf.ln(2)
        _bold(pdf, 11, "Vem har läst ärendet")
        if not section.reads:
            _plain(pdf, "Ingen läsning är loggad.")
        for read in section.reads:
            if read.reason is not None:
                reason = doc.reasons.get(read.reason)
                _plain(pdf, f"{read.at.strftime('%Y-%m-%d %H:%M')}: vem som läste lämnas inte ut: "
                            f"{reason.text() if reason else read.reason}. {read.action}.")
                continue
            who = f"{read.reader}, {read.role.lower()}" if doc.readers_named and read.reader else read.role
            _plain(pdf, f"{read.at.strftime('%Y-%m-%d %H:%M')}: {who}. {read.action} ({read.ground}).")
    if doc.draft:
        pdf.ln(4)
        _bold(pdf, 11, DRAFT)
    return bytes(pdf.output())


def _bold(pdf: FPDF, size: int, text: str) -> None:
    pdf.set_font("DejaVu", "B", size)
    pdf.multi_cell(0, 6, text, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def _plain(pdf: FPDF, text: str) -> None:
    pdf.set_font("DejaVu", "", 10)
    pdf.multi_cell(0, 5, text, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)

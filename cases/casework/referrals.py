"""The referral packets a partner may open now: those of their unit, open, and covered by a valid consent.

A partner's unit is the recipient category their packets are shared with (`Staff.unit`). Each packet is
listed only if `read_referral` would let this partner read it at this moment: `referral_decision` takes the
same steps in the same order (a recipient, the packet still open, then the one disclosure decision), so
the list never offers what reading would refuse. Listing opens no field and is not logged: it shows what
was shared (case pseudonym, purpose, data categories, when), not the data; reading it is logged.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from cases.actors import require_staff, utcnow
from cases.casework.disclosures import referral_decision
from cases.db import Database
from cases.models import Case, ReferralPacket
from workflow import Actor

__all__ = ["SharedReferral", "shared_referrals"]


@dataclass(frozen=True)
class SharedReferral:
    packet_id: str
    ref: str
    purpose: str
    data_categories: tuple[str, ...]
    shared_at: datetime


def shared_referrals(db: Database, partner: Actor, *, now: datetime | None = None) -> tuple[SharedReferral, ...]:
    """The packets this partner may read now, newest first; for anyone but a partner, none."""
    now = now or utcnow()
    with db.read() as session:
        staff = require_staff(session, partner)
        if partner.role != "partner" or not staff.unit:
            return ()
        rows = session.execute(select(ReferralPacket, Case).join(Case, Case.id == ReferralPacket.case_id)
                               .options(joinedload(Case.person)).where(ReferralPacket.closed_at.is_(None))
                               .order_by(ReferralPacket.created_at.desc(), ReferralPacket.id)).all()
        listed = []
        for packet, case in rows:
            if staff.unit not in packet.recipients:
                continue  # not shared with this unit: decided without opening the case
            if referral_decision(db, session, staff, partner, packet, case, now)[0].allowed:
                listed.append(SharedReferral(packet.id, case.ref, packet.purpose, tuple(packet.data_categories),
                                             packet.created_at))
        return tuple(listed)

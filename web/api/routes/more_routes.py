"""Referral packets for partners, checkpoints and proofs for auditors, and the caller's own account and tokens."""

from __future__ import annotations

import base64

from flask_openapi3 import APIBlueprint, Tag

from cases.audit.proofs import auditor_checkpoint, auditor_consistency, auditor_inclusion
from cases.casework.disclosures import read_referral
from cases.casework.referrals import shared_referrals
from cases.errors import DisclosureRefused, RecordNotFound
from cases.staff.tokens import list_tokens, revoke_token
from web.api import schemas as s
from web.api.problems import language, problem, responses
from web.api.support import ALL_STAFF, account, db, json_response, roles
from web.clock import now

__all__ = ["blueprint"]

TAGS = [Tag(name="referrals", description="Referral packets shared with a partner's organisation"),
        Tag(name="logs",
            description="Signed checkpoints and Merkle proofs of the transition, access and administration logs"),
        Tag(name="account", description="The caller's own account and personal API tokens")]


def blueprint(security: list[dict[str, list[str]]]) -> APIBlueprint:
    api = APIBlueprint("api_more", __name__, abp_security=security, abp_responses=responses(400, 401, 403, 422, 429))
    referrals, logs, mine = TAGS

    @api.get("/referrals", tags=[referrals], summary="The packets the caller's organisation may read now",
             operation_id="listReferrals", responses={200: s.ReferralList})
    @roles("partner")
    def list_referrals():
        items = [s.ReferralSummary(packet_id=r.packet_id, ref=r.ref, purpose=r.purpose,
                                   data_categories=list(r.data_categories), shared_at=r.shared_at)
                 for r in shared_referrals(db(), account().actor, now=now())]
        return json_response(s.ReferralList(items=items))

    @api.get("/referrals/<packet_id>", tags=[referrals], summary="Read a referral packet (logged)",
             operation_id="readReferral", responses={200: s.ReferralPacket, **responses(404, 422)})
    @roles("partner")
    def read_packet(path: s.PacketPath):
        try:
            packet = read_referral(db(), account().actor, path.packet_id, now=now())
        except DisclosureRefused:
            # Logged by read_referral; the answer is the unknown packet's, byte for byte: a partner must not
            # learn that a packet exists, which case it is of, or why they may not read it (not their unit,
            # closed, consent withdrawn).
            return problem(404, "not-found")
        return json_response(s.ReferralPacket(
            ref=packet.ref, recipient=packet.recipient, purpose=packet.purpose, ground=packet.ground,
            data_categories=list(packet.data_categories), data=dict(packet.data),
        ), headers={"Cache-Control": "no-store"})

    @api.get("/logs/<log>/checkpoint", tags=[logs], summary="The log's newest signed checkpoint",
             operation_id="latestCheckpoint", responses={200: s.Checkpoint, **responses(404, 422)})
    @roles("auditor")
    def checkpoint(path: s.LogPath):
        found = auditor_checkpoint(db(), account().actor, path.log)
        if found is None:
            return problem(404, "no-checkpoint", "No checkpoint has been issued for this log yet." if language() == "en"
                           else "Ingen kontrollpunkt har utfärdats för loggen ännu.")
        return json_response(s.Checkpoint(log=found.log, size=found.size, root_hash=_b64(found.root),
                                          issued_at=found.created_at, note=found.note))

    @api.get("/logs/<log>/proofs/inclusion", tags=[logs], summary="Prove an entry is in the log",
             operation_id="inclusionProof", responses={200: s.InclusionProof, **responses(422)})
    @roles("auditor")
    def inclusion(path: s.LogPath, query: s.InclusionQuery):
        proof = auditor_inclusion(db(), account().actor, path.log, query.entry, query.size)
        return json_response(s.InclusionProof(log=proof.log, entry=proof.seq, size=proof.size,
                                              leaf_hash=_b64(proof.leaf_hash), root_hash=_b64(proof.root),
                                              path=[_b64(h) for h in proof.path]))

    @api.get("/logs/<log>/proofs/consistency", tags=[logs], summary="Prove an older tree is a prefix of a newer",
             operation_id="consistencyProof", responses={200: s.ConsistencyProof, **responses(422)})
    @roles("auditor")
    def consistency(path: s.LogPath, query: s.ConsistencyQuery):
        proof = auditor_consistency(db(), account().actor, path.log, query.from_size, query.to_size)
        return json_response(s.ConsistencyProof(log=proof.log, from_size=proof.old_size, to_size=proof.new_size,
                                                from_root=_b64(proof.old_root), to_root=_b64(proof.new_root),
                                                path=[_b64(h) for h in proof.path]))

    @api.get("/me", tags=[mine], summary="Who the token acts as", operation_id="me", responses={200: s.Me})
    @roles(*sorted(ALL_STAFF))
    def me():
        who = account()
        return json_response(s.Me(username=who.username, display_name=who.display_name, role=who.role,
                                  unit=who.unit))

    @api.get("/tokens", tags=[mine], summary="The caller's personal API tokens (never their secrets)",
             operation_id="listTokens", responses={200: s.TokenList})
    @roles(*sorted(ALL_STAFF))
    def tokens():
        moment = now()
        return json_response(s.TokenList(items=[
            s.ApiTokenInfo(id=t.id, name=t.name, created_at=t.created_at, expires_at=t.expires_at,
                           revoked_at=t.revoked_at, active=t.active(moment))
            for t in list_tokens(db(), account().actor, now=moment)]))

    @api.delete("/tokens/<token_id>", tags=[mine], summary="Revoke one of the caller's tokens (new ones are "
                "made on the account page, signed in with a password)", operation_id="revokeToken",
                responses={204: None, **responses(404, 422)})
    @roles(*sorted(ALL_STAFF))
    def revoke(path: s.TokenPath):
        try:
            revoke_token(db(), account().actor, path.token_id, now=now())
        except RecordNotFound:
            return problem(404, "not-found")  # unknown, or another account's: the same answer
        return "", 204

    return api


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()

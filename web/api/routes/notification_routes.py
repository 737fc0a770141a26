"""The caller's own notifications over JSON: a page of them, newest first (cursor paging), and marking one read
(`cases.notifications`). Every staff role has notifications; each reads and marks only their own: another's
id is a 404, as if it did not exist. Marking read takes an Idempotency-Key, as every change here does."""

from __future__ import annotations

from datetime import datetime

from flask_openapi3 import APIBlueprint, Tag
from pydantic import BaseModel, Field

from cases.cursors import MAX_CURSOR
from cases.inbox import MAX_PER_PAGE, PER_PAGE, NotificationItem, list_notifications, mark_read
from policies.routines.notifications import load_notifications
from web.api import schemas as s
from web.api.bodies import Closed
from web.api.problems import language, responses
from web.api.support import ALL_STAFF, account, db, json_response, once, roles
from web.clock import now

__all__ = ["blueprint"]

TAG = Tag(name="notifications", description="The caller's own notifications: deadlines, acute concerns, "
                                            "referrals, withdrawn consents")


class NotificationPath(BaseModel):
    notification_id: str = Field(pattern=r"^[0-9a-f-]{1,36}$")


class NotificationQuery(BaseModel):
    cursor: str | None = Field(None, pattern=rf"^[A-Za-z0-9_-]{{1,{MAX_CURSOR}}}$", description=(
        "Where the page starts: a `next_cursor` from an earlier page, as it came (opaque); none is the first "
        "page. A cursor this server did not make is refused with 422 bad-cursor."))
    per_page: int = Field(PER_PAGE, ge=1, le=MAX_PER_PAGE)
    unread: bool = Field(False, description="Only the unread ones")


class ReadRequest(Closed):
    """No fields: the path names the notification."""


class NotificationOut(BaseModel):
    id: str
    kind: str = Field(description="The kind's code (policies/routines/notifications.toml)")
    label: str = Field(description="The kind in the caller's language (Accept-Language: sv or en)")
    case_ref: str | None = Field(description="The case's pseudonym, if it is about one")
    created_at: datetime
    read_at: datetime | None = Field(description="null: unread")


class NotificationList(BaseModel):
    items: list[NotificationOut]
    unread: int = Field(description="How many of the caller's notifications are unread")
    next_cursor: str | None = Field(description="Pass as `cursor` for the page after this one; null on the last")


def blueprint(security: list[dict[str, list[str]]]) -> APIBlueprint:
    api = APIBlueprint("api_notifications", __name__, abp_tags=[TAG], abp_security=security,
                       abp_responses=responses(400, 401, 403, 422, 429))

    @api.get("/notifications", summary="The caller's notifications, newest first", operation_id="listNotifications",
             responses={200: NotificationList})
    @roles(*sorted(ALL_STAFF))
    def listed(query: NotificationQuery):
        found = list_notifications(db(), account().actor, cursor=query.cursor, per_page=query.per_page,
                                   unread_only=query.unread)
        return json_response(NotificationList(items=[_out(i) for i in found.items], unread=found.unread,
                                              next_cursor=found.next_cursor), headers={"Cache-Control": "no-store"})

    @api.post("/notifications/<notification_id>/read", summary="Mark one of the caller's notifications read",
              operation_id="markNotificationRead", responses={200: NotificationOut, **responses(404)})
    @roles(*sorted(ALL_STAFF))
    def read(path: NotificationPath, body: ReadRequest, header: s.IdempotencyHeader):
        return once(header.idempotency_key, {"op": "read_notification", "id": path.notification_id},
                    lambda done: (200, _out(done).model_dump(mode="json")),
                    lambda claim: mark_read(db(), account().actor, path.notification_id, now=now(), claim=claim))

    return api


def _out(item: NotificationItem) -> NotificationOut:
    kinds = load_notifications()
    words = kinds[item.kind].label(language()) if item.kind in kinds else item.kind
    return NotificationOut(id=item.id, kind=item.kind, label=words, case_ref=item.case_ref,
                           created_at=item.created_at, read_at=item.read_at)

"""A person's own notifications as they read them: the list, the unread count, marking read (issue 19 item 3).

Above the casework, whose operation skeleton opens the change (`cases.casework.skeleton`); the notifications
themselves are made beneath it, in the casework's own transactions (`cases.notifications`).
"""

from cases.inbox.reading import (
    MAX_PER_PAGE,
    PER_PAGE,
    NotificationItem,
    NotificationPage,
    list_notifications,
    mark_all_read,
    mark_read,
    unread_count,
)

__all__ = ["MAX_PER_PAGE", "PER_PAGE", "NotificationItem", "NotificationPage", "list_notifications",
           "mark_all_read", "mark_read", "unread_count"]

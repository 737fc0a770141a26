"""The rules of the work that happens on its own, each a data file beside its loader: when the jobs run
(jobs.toml), the reminders before statutory deadlines and whom they reach (reminders.toml), thinning and its
exceptions and the purges (retention.toml), and the notifications' kinds and mail templates (notifications.toml)."""

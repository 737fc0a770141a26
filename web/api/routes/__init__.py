"""The API's views, one module per area (cases, decisions, the journal, kommunicering, flags, interventions,
relatives, sources, legal holds, register extracts, notifications, and the rest in more_routes); each builds
its blueprint from the shared schemas, bodies and support of `web.api`."""

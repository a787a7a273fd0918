"""The IT dashboard (role ``admin``), one module per page, and « Mes notifications ».

| page | module | URL (under ``/console``) |
|---|---|---|
| Santé | :mod:`~gateway.console.admin_health` | ``/admin`` |
| Flux (and « Relancer ») | :mod:`~gateway.console.admin_flows` | ``/admin/flux`` |
| Journal (and « Vérifier maintenant ») | :mod:`~gateway.console.admin_journal` | ``/admin/journal`` |
| Clients et utilisateurs | :mod:`~gateway.console.admin_clients`, ``admin_users`` | ``/admin/clients`` |
| Statistiques | :mod:`~gateway.console.admin_stats` | ``/admin/statistiques`` |
| Mes notifications (any agent) | :mod:`~gateway.console.mail_prefs` | ``/notifications`` |

Every admin handler is wrapped by :func:`gateway.console.pages.admin_page` (403 page
for a non-admin), every POST is CSRF-checked by the console's session middleware
before it gets here, and every action is journaled (:mod:`gateway.console.admin_common`).
"""

from __future__ import annotations

from aiohttp import web

from gateway.console import (
    admin_clients,
    admin_flows,
    admin_health,
    admin_journal,
    admin_stats,
    admin_users,
    mail_prefs,
)


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/admin", admin_health.health, name="admin")
    admin_flows.add_routes(router)
    admin_journal.add_routes(router)
    admin_clients.add_routes(router)
    admin_users.add_routes(router)
    admin_stats.add_routes(router)
    mail_prefs.add_routes(router)

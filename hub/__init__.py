"""Sceau's hub: the central exchange that speaks HubEE API v1.

Start with :func:`hub.app.make_app` (the web application), :class:`hub.settings.HubSettings`
and :class:`hub.services.HubDeps`. Import from the submodules.
"""

"""The HubEE v1 exchange engine: the HubEE API (folders, cases, events, notifications,
subscriptions, OAuth2 client credentials), its life-cycle rules, and its store.

The hub serves it centrally (``hub``); each gateway serves the same engine on its LAN
(``gateway``), so existing HubEE clients need only a new base URL. It imports ``trust``
and nothing else of ours. Start with :func:`hubee.app.make_app`,
:class:`hubee.settings.HubSettings` and :class:`hubee.services.HubDeps` (``Hub*`` names
mean "a HubEE engine", wherever it runs).
"""

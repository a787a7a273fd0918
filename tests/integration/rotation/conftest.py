"""The hub_link fixtures (a real hub over TLS per test, its OpenAPI conformance)."""

from tests.integration.hub_link.conftest import link_conformance, link_run

__all__ = ["link_conformance", "link_run"]

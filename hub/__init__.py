"""Sceau's hub: the central exchange. It serves the HubEE engine (``hubee``) to operators
and instructing services, plus what only the centre has: the gateway link API
(enrollment CA, feed, witness) and the RFC 3161 time-stamping endpoint.
"""

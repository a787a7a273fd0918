"""Sceau's trust layer: keys, PKI, seals, RFC 3161 time, Merkle journal, evidence bundles.

A library: it imports no other package of Sceau, no web server, CLI or YAML.
Import from the submodules (``trust.keys``, ``trust.pki``, …).
"""

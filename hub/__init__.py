"""Sceau hub package."""

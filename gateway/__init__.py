"""Sceau gateway package."""

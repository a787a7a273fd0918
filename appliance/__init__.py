"""Sceau appliance package."""

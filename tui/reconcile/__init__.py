"""Reconciliation: pure functions that classify how Evolution and the database disagree."""

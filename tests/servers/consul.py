"""Filled in by the consul backend work."""

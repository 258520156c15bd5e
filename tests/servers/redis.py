"""Filled in by the redis backend work."""

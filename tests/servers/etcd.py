"""Filled in by the etcd backend work."""

"""Cluster-wide IP address management on a transactional KV store."""

"""The benchmark suite: ``bench/run`` runs it, ``python -m bench`` too.

It measures what the design promises (store round trips per command,
conflicts between nodes, latency that does not grow with the pool) side
by side with host-local, and writes its figures under bench/results/.
"""

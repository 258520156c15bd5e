"""``python -m bench``: the whole suite against an etcd it starts."""

from .suite import main

main()

"""Entry script of the frozen bundle: the CNI plugin's ``main``."""

from macvlan_ipam.plugin.main import main

main()

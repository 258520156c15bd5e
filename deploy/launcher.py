"""Entry script of the frozen bundle.

``macvlan-ipam`` runs the CNI plugin; ``macvlan-ipam agent ...`` runs
the node agent (the DaemonSet's agent container).
"""

import sys

if sys.argv[1:2] == ["agent"]:
    from macvlan_ipam.agent.server import main as agent_main

    agent_main(sys.argv[2:])
else:
    from macvlan_ipam.plugin.main import main

    main()

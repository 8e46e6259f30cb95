"""The backends on a real Docker Engine, through the docker SDK (docker-py).

    engine.py          `docker`: one host, labelled containers, nobody watching
    swarm.py           `swarm`: a real Swarm (this engine's, or the playground's): the verbs
    swarm_specs.py     what the swarm backend sends: a service's arguments, update config, ports
    swarm_state.py     what its managers return (services, tasks, nodes) as labkit's snapshot
    swarm_machines.py  the playground's machines for it: power, rejoining, joins, new machines
    managers.py        which manager to talk to, and the quorum rules
    playground.py      a multi-node Swarm of Docker-in-Docker machines, built and labelled by labkit
    node_image.py      the image those machines run (docker:dind, or one built with debootstrap)
    node_network.py    their network: a private bridge per lab, each machine at a fixed address
    images.py          the course's demo images, built locally from labkit/catalog.py
    reaper.py          removes what a lab made when its notebook's kernel goes away
    common.py          the client, labels, and the one mapping of engine errors to labkit's
"""

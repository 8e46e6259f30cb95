"""The backends on a real Docker Engine, through the docker SDK (docker-py).

    engine.py      `docker`: one host, labelled containers, nobody watching
    swarm.py       `swarm`: a real Swarm (this engine's, or the playground's)
    managers.py    which manager to talk to, and the quorum rules
    playground.py  a multi-node Swarm of Docker-in-Docker machines, built and labelled by labkit
    images.py      the course's demo images, built locally from labkit/catalog.py
    reaper.py      removes what a lab made when its notebook's kernel goes away
    common.py      the client, labels, and the one mapping of engine errors to labkit's
"""

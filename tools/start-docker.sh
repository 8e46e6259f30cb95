#!/bin/sh
# Make sure a Docker engine runs here (idempotent; CI calls it before the tests).
#
# As root on Debian/Ubuntu: installs docker.io, busybox-static and debootstrap when
# missing (the engine, the offline demo images, the swarm playground's node image),
# starts dockerd in the background if it is not running (log: /var/log/dockerd.log),
# then waits until `docker version` answers (60 s at most).
set -eu

DOCKER=/usr/bin/docker
[ -x "$DOCKER" ] || DOCKER=$(command -v docker || echo /usr/bin/docker)
TIMEOUT=${LABKIT_DOCKER_TIMEOUT:-60}

answers() { "$DOCKER" version >/dev/null 2>&1; }

if answers; then
    echo "docker: an engine already answers"
    exit 0
fi

if [ "$(id -u)" != 0 ]; then
    echo "docker: no engine answers and this script is not root." >&2
    echo "        start one with 'sudo systemctl start docker' (or 'sudo $0')," >&2
    echo "        or learn on the simulator: labkit.connect('sim')" >&2
    exit 1
fi

missing=""
[ -x /usr/bin/dockerd ] || [ -x /usr/sbin/dockerd ] || missing="$missing docker.io"
[ -x /bin/busybox ] || missing="$missing busybox-static"
command -v debootstrap >/dev/null 2>&1 || [ -x /usr/sbin/debootstrap ] || missing="$missing debootstrap"
if [ -n "$missing" ]; then
    if ! command -v apt-get >/dev/null 2>&1; then
        echo "docker: missing$missing and there is no apt-get here; install them by hand" >&2
        exit 1
    fi
    echo "docker: installing$missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # shellcheck disable=SC2086
    apt-get install -y -qq --no-install-recommends $missing ca-certificates iptables >/dev/null
fi
[ -x /usr/bin/docker ] && DOCKER=/usr/bin/docker   # Debian's client, matched to its engine

if ! pgrep -x dockerd >/dev/null 2>&1; then
    if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
        systemctl start docker || true
    fi
fi
if ! pgrep -x dockerd >/dev/null 2>&1; then
    echo "docker: starting dockerd (log: /var/log/dockerd.log)"
    setsid dockerd >/var/log/dockerd.log 2>&1 < /dev/null &
fi

waited=0
until answers; do
    if [ "$waited" -ge "$TIMEOUT" ]; then
        echo "docker: the engine did not answer within ${TIMEOUT}s; last lines of /var/log/dockerd.log:" >&2
        tail -n 20 /var/log/dockerd.log >&2 || true
        exit 1
    fi
    sleep 1
    waited=$((waited + 1))
done
echo "docker: engine $("$DOCKER" version --format '{{.Server.Version}}') ready after ${waited}s"

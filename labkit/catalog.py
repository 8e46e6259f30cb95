"""The images the course uses, and how each behaves; and the public images a beginner meets.

One table for every backend: the simulator reads it to decide what a
container does (serve a page, crash after a while), `labkit.backends.docker.images` builds
the real images from it (so both behave the same by construction; the
fidelity tests measure it), and the console uses it for friendly errors.

The second half is an offline registry of the public images of kubernetes.io's and Docker's
getting-started pages and the most pulled official images (nginx, busybox, postgres, ...): their
real tags, the port each listens on, what GET / answers, their default entrypoint and command, and
what they print. The simulator pulls from it (`find`): a tag that is not listed fails to pull as
containerd reports a missing tag, a repository that is not listed as one that does not exist.
What a program prints is its real start-up output (from the images' own entrypoint scripts and
their first lines of `docker logs`), with these fields filled in as it starts: `{version}` (the
tag's version), `{hostname}` (the pod's name), `{ip}` (the pod's address), `{port}` and the time
in the image's own format (`{t:%Y/%m/%d %H:%M:%S}`, strftime codes; `{ms}` the milliseconds,
`{us}` the microseconds).

How an instructor adds an image: add one `Image(...)` to `IMAGES` below, with

* `name`: the repository as people write it (`nginx`, `traefik/whoami`, `registry.k8s.io/...`);
* `tags`: each tag and the version of the program it runs (`_versions` helps);
* `entrypoint` and `cmd`: as in the image's config (`docker image inspect`), so that a pod's
  `command` replaces the entrypoint and its `args` the command, as on a real cluster;
* `programs`: what the image's own programs do when run, by their file name: what they print,
  whether they exit (and with which code) or serve until stopped, what they need from the
  environment. A shell (`sh -c ...`) and the usual commands (echo, sleep, env...) need no entry:
  labkit/backends/sim/programs.py (commands.py) runs them for every image;
* `port`, `http` and `page`: where it listens, and what GET / answers when it serves HTTP.

Nothing else needs to change: the simulator's kubelet, `kubectl logs` and the error messages
read this table.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Mapping


@dataclass(frozen=True)
class DemoImage:
    page: str = ""  # what GET / answers
    crash_after: float | None = None  # seconds after start, None: runs until stopped
    exit_code: int = 1
    color: str = "#7f7f7f"  # its page's background (the views' colour for it)
    # Seconds from the container's start until it listens on port 80 (a real program loads
    # before it serves): connections before that are refused. `START_DELAY` in the
    # container's environment overrides it. GET /ready answers once it listens.
    listens_after: float = 0.0


LISTENS_AFTER = 2.0  # the demo images' start-up time: long enough to see, short enough to wait for
READY_PATH = "/ready"


DEMO_IMAGES: dict[str, DemoImage] = {
    "web-server:1": DemoImage(page="hello v1", color="#1f77b4", listens_after=LISTENS_AFTER),
    "web-server:2": DemoImage(page="hello v2", color="#2ca02c", listens_after=LISTENS_AFTER),
    "web-server:broken": DemoImage(page="hello broken", crash_after=5.0, color="#d62728",
                                   listens_after=LISTENS_AFTER),
}
# The names the course notes use, as tags of the demo images.
ALIASES: dict[str, str] = {
    "my-web-server:latest": "web-server:1",
    "my-web-app:latest": "web-server:1",
    "hello-minikube:latest": "web-server:1",
    "web-server:latest": "web-server:2",
}


def normalize(ref: str) -> str:
    """`my-web-server` -> `my-web-server:latest`; digests and registries kept as given."""
    last = ref.rsplit("/", 1)[-1]
    return ref if (":" in last or "@" in ref) else f"{ref}:latest"


def listens_after(image: str, env: dict | None = None) -> float:
    """When a container of `image` starts listening, in seconds after its start."""
    given = (env or {}).get("START_DELAY")  # the facade checked it (validate.start_delay)
    if given is not None:
        try:
            return min(max(0.0, float(given)), 300.0)
        except ValueError:
            return 0.0
    found = lookup(image)
    return found.listens_after if found else 0.0


def lookup(ref: str) -> DemoImage | None:
    """How an image behaves, or None when no registry would have it."""
    ref = normalize(ref)
    ref = ALIASES.get(ref, ref)
    if ref in DEMO_IMAGES:
        return DEMO_IMAGES[ref]
    found = public(ref)
    if found is None:
        return None
    image = found.image
    return DemoImage(page=image.page_of(found.version) if image.http else f"{image.name} default page")


def public(ref: str) -> Found | None:
    """A public image of the offline registry (below), None when there is no such
    image or tag (`pull_error` says why) or when `ref` is one of the course's own."""
    if is_demo(ref):
        return None
    found = find(ref)
    return None if found.error else found


def is_demo(ref: str) -> bool:
    ref = normalize(ref)
    return ALIASES.get(ref, ref) in DEMO_IMAGES


def pull_error(ref: str) -> str:
    """Why `ref` cannot be pulled, in containerd's words ('' when it can)."""
    if is_demo(ref):
        return ""
    found = find(ref)
    if found.error and normalize(ref).split(":")[0] in ("web-server", "my-web-server", "my-web-app",
                                                          "hello-minikube"):
        return (found.error.split(" (labkit's")[0] +
                f" (the course's images are {', '.join([*DEMO_IMAGES, *ALIASES])})")
    return found.error


# -- the public images: an offline registry ---------------------------------------------------
_FIELD = re.compile(r"\{(\w+)(?::([^{}]*))?\}")


def fill(text: str, when: datetime | None = None, **values: object) -> str:
    """`text` with its fields filled in: `{t:FORMAT}` the time `when` (strftime), `{ms}` and `{us}` its
    milliseconds and microseconds, any other `{name}` from `values`; other braces are left as they are."""
    def one(match: re.Match) -> str:
        name, spec = match.group(1), match.group(2)
        if when is not None and name == "t" and spec is not None:
            return when.strftime(spec)
        if when is not None and name in ("ms", "us") and spec is None:
            return f"{when.microsecond // 1000:03d}" if name == "ms" else f"{when.microsecond:06d}"
        return str(values[name]) if name in values and spec is None else match.group(0)
    return _FIELD.sub(one, text)


@dataclass(frozen=True)
class Program:
    """One of an image's own programs (found by its file name, e.g. `nginx`, `docker-entrypoint.sh`)."""
    lines: tuple[str, ...] = ()  # what it prints as it starts
    exit: int | None = None  # exits with this code once it printed its lines; None: serves until stopped
    needs: tuple[str, ...] = ()  # one of these variables must be set (non-empty), else it prints `refusal`, exits 1
    refusal: tuple[str, ...] = ()
    # An entrypoint script: it runs its arguments (`exec "$@"`); when its first argument is one of
    # these (its server), it first prints its lines and checks `needs`. None: not an entrypoint script.
    wraps: tuple[str, ...] | None = None
    listens_after: float = 0.0  # seconds from its start until it accepts connections
    repl: bool = False  # reads commands from stdin: without a terminal it exits at once (0), quietly
    # A server whose health check starts failing this many seconds after its start: agnhost's
    # `liveness` answers /healthz with 200 for 10 s, then 500 (test/images/agnhost/liveness/server.go).
    fails_after: float | None = None


@dataclass(frozen=True)
class Image:
    name: str
    tags: Mapping[str, str]  # tag -> the version of its program
    entrypoint: tuple[str, ...] = ()
    cmd: tuple[str, ...] = ()
    programs: Mapping[str, Program] = field(default_factory=dict)
    port: int | None = None
    http: bool = False
    page: str = ""  # what GET / answers (HTTP images)
    env: Mapping[str, str] = field(default_factory=dict)  # the image's own ENV ({version} filled in)
    # One line its server logs per request it answers ({client}, {bytes}, {t:...}); "" for none (Go's
    # net/http servers and busybox httpd log nothing by default).
    access_log: str = ""

    def page_of(self, version: str, hostname: str = "(the pod's name)", ip: str = "(the pod's IP)",
                now: str = "(the time of the request)") -> str:
        return fill(self.page, version=version, hostname=hostname, ip=ip, now=now)

    @property
    def reference(self) -> str:
        """The fully qualified repository, as containerd names it (docker.io/library/nginx)."""
        if "." in self.name.split("/")[0]:
            return self.name
        return f"docker.io/{self.name}" if "/" in self.name else f"docker.io/library/{self.name}"


def _versions(*groups: tuple[str, tuple[str, ...]], variants: tuple[str, ...] = ()) -> dict[str, str]:
    """{tag: version} from (version, tags that point at it) pairs; every tag also with each variant
    suffix (`1.27-alpine`), and each version as its own tag."""
    tags: dict[str, str] = {}
    for version, names in groups:
        for name in (version, *names):
            tags[name] = version
            for variant in variants:
                tags[f"{name}-{variant}" if name not in ("latest",) else variant] = version
    return tags


_NGINX_START = (
    "/docker-entrypoint.sh: /docker-entrypoint.d/ is not empty, will attempt to perform configuration",
    "/docker-entrypoint.sh: Looking for shell scripts in /docker-entrypoint.d/",
    "/docker-entrypoint.sh: Launching /docker-entrypoint.d/10-listen-on-ipv6-by-default.sh",
    "10-listen-on-ipv6-by-default.sh: info: Getting the checksum of /etc/nginx/conf.d/default.conf",
    "10-listen-on-ipv6-by-default.sh: info: Enabled listen on IPv6 in /etc/nginx/conf.d/default.conf",
    "/docker-entrypoint.sh: Sourcing /docker-entrypoint.d/15-local-resolvers.envsh",
    "/docker-entrypoint.sh: Launching /docker-entrypoint.d/20-envsubst-on-templates.sh",
    "/docker-entrypoint.sh: Launching /docker-entrypoint.d/30-tune-worker-processes.sh",
    "/docker-entrypoint.sh: Configuration complete; ready for start up",
)
_NGINX = tuple(f"{{t:%Y/%m/%d %H:%M:%S}} [notice] 1#1: {line}" for line in (
    'using the "epoll" event method', "nginx/{version}", "built by gcc 12.2.0 (Debian 12.2.0-14)",
    "OS: Linux 6.8.0-labkit", "getrlimit(RLIMIT_NOFILE): 1048576:1048576", "start worker processes",
    "start worker process 29", "start worker process 30"))
NGINX_PAGE = """<!DOCTYPE html>
<html>
<head>
<title>Welcome to nginx!</title>
<style>
html { color-scheme: light dark; }
body { width: 35em; margin: 0 auto;
font-family: Tahoma, Verdana, Arial, sans-serif; }
</style>
</head>
<body>
<h1>Welcome to nginx!</h1>
<p>If you see this page, the nginx web server is successfully installed and
working. Further configuration is required.</p>

<p>For online documentation and support please refer to
<a href="http://nginx.org/">nginx.org</a>.<br/>
Commercial support is available at
<a href="http://nginx.com/">nginx.com</a>.</p>

<p><em>Thank you for using nginx.</em></p>
</body>
</html>
"""
_HTTPD_NAME = ("AH00558: httpd: Could not reliably determine the server's fully qualified domain name, "
               "using {ip}. Set the 'ServerName' directive globally to suppress this message")
_HTTPD_STAMP = "[{t:%a %b %d %H:%M:%S}.{us} {t:%Y}]"
_REDIS = (
    "1:C {t:%d %b %Y %H:%M:%S}.{ms} # WARNING Memory overcommit must be enabled! Without it, a background save "
    "or replication may fail under low memory condition. Being disabled, it can also cause failures without "
    "low memory condition, see https://github.com/jemalloc/jemalloc/issues/1328. To fix this issue add "
    "'vm.overcommit_memory = 1' to /etc/sysctl.conf and then reboot or run the command "
    "'sysctl vm.overcommit_memory=1' for this to take effect.",
    "1:C {t:%d %b %Y %H:%M:%S}.{ms} * oO0OoO0OoO0Oo Redis is starting oO0OoO0OoO0Oo",
    "1:C {t:%d %b %Y %H:%M:%S}.{ms} * Redis version={version}, bits=64, commit=00000000, modified=0, pid=1, "
    "just started",
    "1:C {t:%d %b %Y %H:%M:%S}.{ms} # Warning: no config file specified, using the default config. In order to "
    "specify a config file use redis-server /path/to/redis.conf",
    "1:M {t:%d %b %Y %H:%M:%S}.{ms} * monotonic clock: POSIX clock_gettime",
    "1:M {t:%d %b %Y %H:%M:%S}.{ms} * Running mode=standalone, port=6379.",
    "1:M {t:%d %b %Y %H:%M:%S}.{ms} * Server initialized",
    "1:M {t:%d %b %Y %H:%M:%S}.{ms} * Ready to accept connections tcp",
)
_PG_STAMP = "{t:%Y-%m-%d %H:%M:%S}.{ms} UTC"
_POSTGRES = (
    "The files belonging to this database system will be owned by user \"postgres\".",
    "This user must also own the server process.",
    "",
    "The database cluster will be initialized with locale \"en_US.utf8\".",
    "The default database encoding has accordingly been set to \"UTF8\".",
    "The default text search configuration will be set to \"english\".",
    "",
    "Data page checksums are disabled.",
    "",
    "fixing permissions on existing directory /var/lib/postgresql/data ... ok",
    "creating subdirectories ... ok",
    "selecting dynamic shared memory implementation ... posix",
    "selecting default \"max_connections\" ... 100",
    "selecting default \"shared_buffers\" ... 128MB",
    "selecting default time zone ... Etc/UTC",
    "creating configuration files ... ok",
    "running bootstrap script ... ok",
    "performing post-bootstrap initialization ... ok",
    "syncing data to disk ... ok",
    "",
    "",
    "Success. You can now start the database server using:",
    "",
    "    pg_ctl -D /var/lib/postgresql/data -l logfile start",
    "",
    "initdb: warning: enabling \"trust\" authentication for local connections",
    "initdb: hint: You can change this by editing pg_hba.conf or using the option -A, or --auth-local and "
    "--auth-host, the next time you run initdb.",
    "waiting for server to start.... done",
    "server started",
    "",
    "/usr/local/bin/docker-entrypoint.sh: ignoring /docker-entrypoint-initdb.d/*",
    "",
    "waiting for server to shut down.... done",
    "server stopped",
    "",
    "PostgreSQL init process complete; ready for start up.",
    "",
    f"{_PG_STAMP} [1] LOG:  starting PostgreSQL {{version}} (Debian {{version}}-1.pgdg120+1) on "
    "x86_64-pc-linux-gnu, compiled by gcc (Debian 12.2.0-14) 12.2.0, 64-bit",
    f"{_PG_STAMP} [1] LOG:  listening on IPv4 address \"0.0.0.0\", port 5432",
    f"{_PG_STAMP} [1] LOG:  listening on IPv6 address \"::\", port 5432",
    f"{_PG_STAMP} [1] LOG:  listening on Unix socket \"/var/run/postgresql/.s.PGSQL.5432\"",
    f"{_PG_STAMP} [1] LOG:  database system is ready to accept connections",
)
_POSTGRES_REFUSAL = (  # docker-library/postgres docker-entrypoint.sh: docker_verify_minimum_env
    "Error: Database is uninitialized and superuser password is not specified.",
    "       You must specify POSTGRES_PASSWORD to a non-empty value for the",
    "       superuser. For example, \"-e POSTGRES_PASSWORD=password\" on \"docker run\".",
    "",
    "       You may also use \"POSTGRES_HOST_AUTH_METHOD=trust\" to allow all",
    "       connections without a password. This is *not* recommended.",
    "",
    "       See PostgreSQL documentation about \"trust\":",
    "       https://www.postgresql.org/docs/current/auth-trust.html",
)
_MYSQL_STAMP = "{t:%Y-%m-%d %H:%M:%S}+00:00"
_MYSQL_START = (
    f"{_MYSQL_STAMP} [Note] [Entrypoint]: Entrypoint script for MySQL Server {{version}}-1.el9 started.",
    f"{_MYSQL_STAMP} [Note] [Entrypoint]: Switching to dedicated user 'mysql'",
    f"{_MYSQL_STAMP} [Note] [Entrypoint]: Entrypoint script for MySQL Server {{version}}-1.el9 started.",
)
_MYSQL_REFUSAL = (  # docker-library/mysql docker-entrypoint.sh: docker_verify_minimum_env
    f"{_MYSQL_STAMP} [ERROR] [Entrypoint]: Database is uninitialized and password option is not specified",
    "    You need to specify one of the following as an environment variable:",
    "    - MYSQL_ROOT_PASSWORD",
    "    - MYSQL_ALLOW_EMPTY_PASSWORD",
    "    - MYSQL_RANDOM_ROOT_PASSWORD",
)
_MYSQL_READY = (
    f"{_MYSQL_STAMP} [Note] [Entrypoint]: Initializing database files",
    f"{_MYSQL_STAMP} [Note] [Entrypoint]: Database files initialized",
    f"{_MYSQL_STAMP} [Note] [Entrypoint]: MySQL init process done. Ready for start up.",
    "{t:%Y-%m-%dT%H:%M:%S}.{us}Z 0 [System] [MY-015015] [Server] MySQL Server - start.",
    "{t:%Y-%m-%dT%H:%M:%S}.{us}Z 1 [System] [MY-013576] [InnoDB] InnoDB initialization has started.",
    "{t:%Y-%m-%dT%H:%M:%S}.{us}Z 1 [System] [MY-013577] [InnoDB] InnoDB initialization has ended.",
    "{t:%Y-%m-%dT%H:%M:%S}.{us}Z 0 [System] [MY-010931] [Server] /usr/sbin/mysqld: ready for connections. "
    "Version: '{version}'  socket: '/var/run/mysqld/mysqld.sock'  port: 3306  MySQL Community Server - GPL.",
)
HELLO_WORLD = (  # docker-library/hello-world: hello.c
    "",
    "Hello from Docker!",
    "This message shows that your installation appears to be working correctly.",
    "",
    "To generate this message, Docker took the following steps:",
    " 1. The Docker client contacted the Docker daemon.",
    " 2. The Docker daemon pulled the \"hello-world\" image from the Docker Hub.",
    "    (amd64)",
    " 3. The Docker daemon created a new container from that image which runs the",
    "    executable that produces the output you are currently reading.",
    " 4. The Docker daemon streamed that output to the Docker client, which sent it",
    "    to your terminal.",
    "",
    "To try something more ambitious, you can run an Ubuntu container with:",
    " $ docker run -it ubuntu bash",
    "",
    "Share images, automate workflows, and more with a free Docker ID:",
    " https://hub.docker.com/",
    "",
    "For more examples and ideas, visit:",
    " https://docs.docker.com/get-started/",
    "",
)
_KLOG = "I{t:%m%d %H:%M:%S}.{us}       1 log.go:245] "
# A shell, python or node without a terminal reads an empty stdin and exits at once, quietly (0).
_QUIET = Program(exit=0, repl=True)
_WRAPPER = Program(wraps=())  # docker-entrypoint.sh of python, node...: exec "$@"

IMAGES: tuple[Image, ...] = (
    Image("nginx", _versions(
        ("1.29.3", ("1.29", "mainline", "1", "latest")), ("1.28.0", ("1.28", "stable")),
        ("1.27.5", ("1.27",)), ("1.27.4", ()), ("1.27.3", ()), ("1.27.2", ()), ("1.27.1", ()), ("1.27.0", ()),
        ("1.26.3", ("1.26",)), ("1.26.2", ()), ("1.26.1", ()), ("1.26.0", ()),
        ("1.25.5", ("1.25",)), ("1.25.4", ()), ("1.25.3", ()), ("1.24.0", ("1.24",)), ("1.23.4", ("1.23",)),
        ("1.22.1", ("1.22",)), ("1.21.6", ("1.21",)), ("1.20.2", ("1.20",)), ("1.19.10", ("1.19",)),
        ("1.18.0", ("1.18",)), ("1.17.10", ("1.17",)), ("1.16.1", ("1.16",)), ("1.15.12", ("1.15",)),
        ("1.14.2", ("1.14",)), ("1.13.12", ("1.13",)), ("1.12.2", ("1.12",)), ("1.11.13", ("1.11",)),
        ("1.10.3", ("1.10",)), ("1.9.15", ("1.9",)), ("1.8.1", ("1.8",)), ("1.7.9", ("1.7",)),
        variants=("alpine", "alpine-slim", "perl", "bookworm")),
        entrypoint=("/docker-entrypoint.sh",), cmd=("nginx", "-g", "daemon off;"),
        programs={"docker-entrypoint.sh": Program(lines=_NGINX_START, wraps=("nginx", "nginx-debug")),
                  "nginx": Program(lines=_NGINX), "nginx-debug": Program(lines=_NGINX)},
        port=80, http=True, page=NGINX_PAGE, env={"NGINX_VERSION": "{version}", "PKG_RELEASE": "1~bookworm"},
        access_log='{client} - - [{t:%d/%b/%Y:%H:%M:%S +0000}] "GET / HTTP/1.1" 200 {bytes} "-" "labkit-traffic" "-"'),
    Image("httpd", _versions(("2.4.65", ("2.4", "2", "latest")), ("2.4.64", ()), ("2.4.63", ()),
                             ("2.4.62", ()), ("2.4.61", ()), variants=("alpine", "bookworm")),
          cmd=("httpd-foreground",),
          programs={"httpd-foreground": Program(lines=(
              _HTTPD_NAME, _HTTPD_NAME,
              f"{_HTTPD_STAMP} [mpm_event:notice] [pid 1:tid 1] AH00489: Apache/{{version}} (Unix) configured "
              "-- resuming normal operations",
              f"{_HTTPD_STAMP} [core:notice] [pid 1:tid 1] AH00094: Command line: 'httpd -D FOREGROUND'"))},
          port=80, http=True, page="<html><body><h1>It works!</h1></body></html>\n",
          env={"HTTPD_VERSION": "{version}", "HTTPD_PREFIX": "/usr/local/apache2"},
          access_log='{client} - - [{t:%d/%b/%Y:%H:%M:%S +0000}] "GET / HTTP/1.1" 200 {bytes}'),
    Image("redis", _versions(("8.2.2", ("8.2", "8", "latest")), ("8.0.4", ("8.0",)), ("7.4.6", ("7.4", "7")),
                             ("7.4.1", ()), ("7.2.11", ("7.2",)), ("7.0.15", ("7.0",)), ("6.2.20", ("6.2", "6")),
                             variants=("alpine", "bookworm")),
          entrypoint=("docker-entrypoint.sh",), cmd=("redis-server",),
          programs={"docker-entrypoint.sh": _WRAPPER, "redis-server": Program(lines=_REDIS)},
          port=6379, env={"REDIS_VERSION": "{version}"}),
    Image("busybox", _versions(("1.37.0", ("1.37", "1", "latest", "stable")), ("1.36.1", ("1.36",)),
                               ("1.36.0", ()), ("1.35.0", ("1.35",)),
                               variants=("musl", "glibc", "uclibc")) | {"musl": "1.37.0", "glibc": "1.37.0",
                                                                          "uclibc": "1.37.0"},
          cmd=("sh",)),
    # kubernetes.io's task pages (exec-liveness.yaml, the init-container and shared-volume examples) use this mirror
    Image("registry.k8s.io/busybox", {"1.27.2": "1.27.2", "1.28": "1.28.4", "1.24": "1.24.2", "latest": "1.27.2"},
          cmd=("sh",)),
    Image("alpine", _versions(("3.22.2", ("3.22", "3", "latest")), ("3.21.5", ("3.21",)), ("3.20.8", ("3.20",)),
                              ("3.20.3", ()), ("3.19.9", ("3.19",)), ("3.18.12", ("3.18",))) | {"edge": "edge"},
          cmd=("/bin/sh",)),
    Image("ubuntu", _versions(("24.04", ("noble", "latest")), ("22.04", ("jammy",)), ("20.04", ("focal",)),
                              ("25.04", ("plucky",)), ("25.10", ("questing", "rolling"))),
          cmd=("/bin/bash",)),
    Image("debian", _versions(("13", ("trixie", "stable", "latest")), ("12", ("bookworm", "oldstable")),
                              ("11", ("bullseye",)), variants=("slim",)),
          cmd=("bash",)),
    Image("python", _versions(("3.14", ("3", "latest")), ("3.13", ()), ("3.12", ()), ("3.11", ()), ("3.10", ()),
                              variants=("slim", "alpine", "bookworm", "slim-bookworm")),
          cmd=("python3",), programs={"python3": _QUIET, "python": _QUIET}, env={"PYTHON_VERSION": "{version}"}),
    Image("node", _versions(("24", ("current", "latest")), ("22", ("lts", "jod")), ("20", ("iron",)),
                            ("18", ("hydrogen",)), variants=("alpine", "slim", "bookworm")),
          entrypoint=("docker-entrypoint.sh",), cmd=("node",),
          programs={"docker-entrypoint.sh": _WRAPPER, "node": _QUIET}, env={"NODE_VERSION": "{version}"}),
    Image("postgres", _versions(("18.1", ("18", "latest")), ("17.7", ("17",)), ("16.11", ("16",)),
                                ("15.15", ("15",)), ("14.20", ("14",)), ("13.23", ("13",)),
                                variants=("alpine", "bookworm")),
          entrypoint=("docker-entrypoint.sh",), cmd=("postgres",),
          programs={"docker-entrypoint.sh": Program(wraps=("postgres",), needs=("POSTGRES_PASSWORD",
                                                                                "POSTGRES_HOST_AUTH_METHOD"),
                                                    refusal=_POSTGRES_REFUSAL),
                    "postgres": Program(lines=_POSTGRES, listens_after=3.0)},
          port=5432, env={"PG_MAJOR": "{major}", "PG_VERSION": "{version}-1.pgdg120+1",
                          "PGDATA": "/var/lib/postgresql/data"}),
    Image("mysql", _versions(("9.5.0", ("9.5", "9", "innovation", "latest")), ("8.4.7", ("8.4", "8", "lts")),
                             ("8.0.44", ("8.0",)), variants=("oracle",)),
          entrypoint=("docker-entrypoint.sh",), cmd=("mysqld",),
          programs={"docker-entrypoint.sh": Program(lines=_MYSQL_START, wraps=("mysqld",),
                                                    needs=("MYSQL_ROOT_PASSWORD", "MYSQL_ALLOW_EMPTY_PASSWORD",
                                                           "MYSQL_RANDOM_ROOT_PASSWORD"),
                                                    refusal=_MYSQL_REFUSAL),
                    "mysqld": Program(lines=_MYSQL_READY, listens_after=8.0)},
          port=3306, env={"MYSQL_MAJOR": "{major}", "MYSQL_VERSION": "{version}-1.el9"}),
    Image("hello-world", {"latest": "latest", "linux": "latest", "nanoserver": "latest"},
          cmd=("/hello",), programs={"hello": Program(lines=HELLO_WORLD, exit=0)}),
    Image("traefik/whoami", _versions(("v1.11.0", ("v1.11", "latest")), ("v1.10.4", ("v1.10",)), ("v1.10.3", ()),
                                      ("v1.10.1", ()), ("v1.9.0", ("v1.9",))),
          entrypoint=("/whoami",),
          programs={"whoami": Program(lines=("{t:%Y/%m/%d %H:%M:%S} Starting up on port 80",))},
          port=80, http=True, page="Hostname: {hostname}\nIP: 127.0.0.1\nIP: {ip}\nGET / HTTP/1.1\n"),
    Image("kicbase/echo-server", {"1.0": "1.0", "latest": "1.0"},
          entrypoint=("/echo-server",),
          programs={"echo-server": Program(lines=("Echo server listening on port 8080.",))},
          port=8080, http=True, page="Request served by {hostname}\n\nHTTP/1.1 GET /\n"),
    Image("registry.k8s.io/e2e-test-images/agnhost", _versions(
        ("2.56", ()), ("2.55", ()), ("2.53", ()), ("2.52", ()), ("2.47", ()), ("2.45", ()), ("2.43", ()),
        ("2.40", ()), ("2.39", ())),
          entrypoint=("/agnhost",), cmd=("pause",),
          programs={"agnhost": Program(wraps=("pause", "netexec", "serve-hostname", "liveness")),
                    "liveness": Program(fails_after=10.0),
                    "pause": Program(lines=("Paused",)),
                    "netexec": Program(lines=(_KLOG + "Started HTTP server on port 8080",
                                              _KLOG + "Started UDP server on port  8081")),
                    "serve-hostname": Program(lines=(
                        "{t:%Y/%m/%d %H:%M:%S} Serving on port 9376.",))},
          port=8080, http=True, page="NOW: {now}\n"),
    Image("gcr.io/google-samples/hello-app", {"1.0": "1.0.0", "2.0": "2.0.0"},
          cmd=("./hello-app",),
          programs={"hello-app": Program(lines=("{t:%Y/%m/%d %H:%M:%S} Server listening on port 8080",))},
          port=8080, http=True, page="Hello, world!\nVersion: {version}\nHostname: {hostname}\n"),
)
BY_NAME: dict[str, Image] = {image.reference: image for image in IMAGES}
PUBLIC_IMAGES = tuple(image.name for image in IMAGES)  # what the simulator can pull besides the course's images
SHELLS = ("sh", "bash", "ash")  # what `sh` runs as in busybox, alpine, ubuntu...


@dataclass(frozen=True)
class Found:
    """An image reference resolved: its image, tag and version, or why it cannot be pulled."""
    reference: str  # docker.io/library/nginx:1.27 (containerd's name for what was asked)
    image: Image | None = None
    tag: str = ""
    version: str = ""
    error: str = ""  # containerd's words when it cannot be pulled

    @property
    def major(self) -> str:
        return self.version.split(".")[0]


def split(ref: str) -> tuple[str, str]:
    """`nginx` -> (docker.io/library/nginx, latest); `traefik/whoami:v1.10` -> (docker.io/traefik/whoami, v1.10);
    a digest (`@sha256:...`) is kept in the tag's place."""
    name, at, digest = ref.partition("@")
    last = name.rsplit("/", 1)[-1]
    repo, tag = (name.rsplit(":", 1) if ":" in last else (name, "latest"))
    if at:
        tag = "@" + digest
    first = repo.split("/")[0]
    if "/" not in repo:
        repo = f"docker.io/library/{repo}"
    elif not ("." in first or ":" in first or first == "localhost"):
        repo = f"docker.io/{repo}"
    return repo, tag


def find(ref: str) -> Found:
    """Resolve `ref` in the offline registry. The errors follow containerd's pull
    (`failed to pull and unpack image`, core/remotes/docker/resolver.go: `not found` for a
    tag a repository lacks, `pull access denied` for a repository Docker Hub does not have),
    as the kubelet passes them on in a container's waiting message."""
    repo, tag = split(ref)
    full = f"{repo}{tag}" if tag.startswith("@") else f"{repo}:{tag}"
    image = BY_NAME.get(repo)
    unpack = f'rpc error: code = NotFound desc = failed to pull and unpack image "{full}": ' \
             f'failed to resolve reference "{full}": '
    if image is None:
        held = ", ".join(i.name for i in IMAGES)
        return Found(full, error=unpack.replace("NotFound", "Unknown") +
                     "pull access denied, repository does not exist or may require authorization: "
                     "server message: insufficient_scope: authorization failed "
                     f"(labkit's offline registry holds {held} and the course's web-server images; "
                     "an instructor adds one in labkit/catalog.py)")
    if tag.startswith("@"):  # a digest: the image's newest version (the registry cannot check it offline)
        return Found(full, image, tag, next(iter(image.tags.values())))
    if tag not in image.tags:
        return Found(full, image, error=f"{unpack}{full}: not found")
    return Found(full, image, tag, image.tags[tag])

"""gunicorn's settings for this service: `gunicorn probely.wsgi`, run from this folder, reads them.

Threaded workers: a client that sends its request slowly holds one thread, not a whole worker,
so a few such clients do not stop the others being served. Many of them are the business of the
buffering reverse proxy that production runs behind (README, "Running in production"). The
threads wait for clients; the application runs one request of a worker at a time
(WEB_ACTIVE_REQUESTS, apiusers/turns.py).
"""

import os
import socket
import traceback
from collections.abc import Mapping
from functools import cached_property
from pathlib import Path

from gunicorn import glogging, util

bind = f"{os.environ.get('BIND_HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY") or 2 * (os.cpu_count() or 1) + 1)
worker_class = "gthread"
threads = int(os.environ.get("WEB_THREADS") or 8)
# The application (probely/wsgi.py imports every view) is loaded once, before the workers are
# forked: a new worker serves its first request warm instead of importing for a second first,
# and the workers share the imported code's memory. Nothing connects to a database at import.
preload_app = True

# Each worker listens on a socket of its own (SO_REUSEPORT) and the kernel spreads new
# connections over them. On one shared socket, the worker that happens to be awake when
# connections arrive together takes them all and keeps them alive: a client opening eight at
# once had all of them served by one of two workers in about one run of three, at half the
# throughput. The price: connections still waiting in a worker's queue when it exits are reset;
# the operating system lets another server that asks for the same port share it, which
# `claim_ports` below forbids; and gunicorn cannot re-execute itself in place (USR2) without a
# socket of its own. WEB_REUSE_PORT=false shares one socket again. See README, "Running in
# production".
reuse_port = os.environ.get("WEB_REUSE_PORT", "true").lower() not in {"0", "false", "no", "off"}

# A worker whose main loop is silent this long is killed. PostgreSQL's lock and statement
# timeouts and the connection pool's wait (probely/settings.py) end well before, with a JSON 503.
timeout = 30
graceful_timeout = 30
keepalive = 5

# What gunicorn refuses itself (a small HTML 414 or 431; README), before Django sees it.
limit_request_line = 8190
limit_request_fields = 100
limit_request_field_size = 8190

# No runtime control socket: nothing here uses `gunicornc`, and two servers on one machine would
# fight over its default path.
control_socket_disable = True


# Health and metrics probes are not access-log noise.
PROBES = ("/healthz", "/readyz", "/metrics")


class Atoms(Mapping):
    """An access-log line's fields, each worked out when the format asks for it. gunicorn's
    own table holds every field, every request and response header and the whole environ, and
    is built for each line: 40-70 µs a line against 12 µs now, 2-3% of a GET in a worker.
    The shipped format's fields are read here; any other comes from gunicorn's table, built
    for the line when first needed. Quotes are escaped as gunicorn escapes them."""

    def __init__(self, logger, resp, req, environ, request_time):
        self.logger, self.resp, self.req = logger, resp, req
        self.environ, self.request_time = environ, request_time

    @cached_property
    def table(self):
        atoms = self.logger.atoms(self.resp, self.req, self.environ, self.request_time)
        return glogging.SafeAtoms(atoms)

    def __getitem__(self, name):
        environ, took = self.environ, self.request_time
        if name == "h":
            return environ.get("REMOTE_ADDR", "-")
        if name == "r":
            line = f"{environ['REQUEST_METHOD']} {environ['RAW_URI']} {environ['SERVER_PROTOCOL']}"
            return line.replace('"', '\\"')
        if name == "s":
            return str(self.resp.status).split(None, 1)[0]
        if name == "b":
            return str(self.resp.sent) if getattr(self.resp, "sent", None) is not None else "-"
        if name == "M":
            return took.seconds * 1000 + took.microseconds // 1000
        return self.table[name]

    def __bool__(self):  # logging asks, and the answer needs no table
        return True

    def __iter__(self):
        return iter(self.table)

    def __len__(self):
        return len(self.table)


class Logger(glogging.Logger):
    """gunicorn's, except that the access log works out only the fields its format prints
    (`Atoms`) and skips the probes, and that a malformed request is logged without the text
    quoted from it: that may be a header line, an Authorization value among them."""

    def access(self, resp, req, environ, request_time):
        if environ.get("PATH_INFO") in PROBES or not self.access_log_enabled:
            return
        try:
            fields = Atoms(self, resp, req, environ, request_time)
            self.access_log.info(self.cfg.access_log_format, fields)
        except Exception:
            self.error(traceback.format_exc())

    def warning(self, msg, *args, **kwargs):
        if msg.startswith("Invalid request from ip="):
            msg = msg.split("'", 1)[0].rstrip(": ")
        super().warning(msg, *args, **kwargs)


logger_class = Logger
# Errors go to stderr; the access log is off unless asked for, and never shows request headers.
accesslog = "-" if os.environ.get("ACCESS_LOG", "").lower() in {"1", "true", "yes", "on"} else None
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms'


def on_starting(server):
    if server.cfg.reuse_port:
        claim_ports(server)
    # Prometheus metrics across workers (README, "Health, logs and metrics"): each worker writes
    # its values to files in PROMETHEUS_MULTIPROC_DIR. The folder starts empty, so counts from an
    # earlier run are not added in (only its *.db files are removed), and a dead worker's live
    # values are dropped when it exits.
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        for values in Path(folder).glob("*.db"):
            values.unlink()


def claim_ports(server):
    """With reuse_port, a port that another server already listens on (with SO_REUSEPORT, as a
    second copy of this one does) would be shared with it rather than refused. Each address is
    bound here once without that option first, so that a port in use stops this server at
    start. A unix socket or sockets handed over by systemd cannot be shared that way: with
    them, the workers share the master's sockets as they would without."""
    addresses = server.cfg.address
    if os.environ.get("LISTEN_FDS") or not all(isinstance(a, tuple) for a in addresses):
        server.cfg.set("reuse_port", False)
        return
    listening = ", ".join(
        f"http://[{host}]:{port}" if util.is_ipv6(host) else f"http://{host}:{port}"
        for host, port in addresses
    )
    server.log.info("Each worker listens on %s with a socket of its own (reuse_port)", listening)
    for host, port in addresses:
        family = socket.AF_INET6 if util.is_ipv6(host) else socket.AF_INET
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((host, port))
            except OSError as error:
                raise SystemExit(f"Cannot listen on {host}:{port}: {error.strerror}.") from None


def child_exit(server, worker):
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)

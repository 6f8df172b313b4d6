"""Where a GET and a PATCH of one API user, and a list page of 100, spend their time: in
process, with the production settings (DEBUG off), on the database DATABASE_URL names.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench .venv/bin/python bench/hotpath.py
    ... bench/hotpath.py --requests 2000 --top 30 --sort tottime --only GET PATCH

It makes an Admin key, a target API user (renamed by the PATCH, which sends 3 labels) and, once
per database, 100 API users with 3 labels and 2 roles for the list (`?length=100`). Then it calls
the WSGI application directly (no server, no socket), so that only the service's own work is
measured: first the mean time per request without the profiler (wall clock, and this process's
CPU time, which other load on the machine changes less), then cProfile's table.
"""

import argparse
import cProfile
import io
import json
import os
import pstats
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault(
    "DJANGO_SECRET_KEY", "bench-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz"
)
os.environ.setdefault("DJANGO_DEBUG", "false")
os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "127.0.0.1")
os.environ.setdefault("DJANGO_SECURE_SSL_REDIRECT", "false")
os.environ["THROTTLE_API_KEY"] = ""
os.environ.setdefault("DJANGO_LOG_LEVEL", "WARNING")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "probely.settings")


# Developer and Billing: built-in roles (fixed ids) that grant nothing over users.
BENCH_ROLES = ("mvHmA52RyzCE", "mUsmGptS2NDy")


def environ(method, path, key, body=b""):
    return {
        "REQUEST_METHOD": method,
        "PATH_INFO": path.partition("?")[0],
        "QUERY_STRING": path.partition("?")[2],
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "127.0.0.1",
        "HTTP_AUTHORIZATION": f"JWT {key}",
        "CONTENT_TYPE": "application/json" if body else "",
        "CONTENT_LENGTH": str(len(body)),
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.input": io.BytesIO(body),
        "wsgi.url_scheme": "http",
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
        "wsgi.version": (1, 0),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--sort", default="cumulative", choices=["cumulative", "tottime"])
    parser.add_argument(
        "--only", nargs="+", default=["GET", "PATCH", "LIST"], choices=["GET", "PATCH", "LIST"]
    )
    args = parser.parse_args()

    from django.core.management import call_command
    from django.core.wsgi import get_wsgi_application

    application = get_wsgi_application()
    call_command("migrate", verbosity=0)
    out = io.StringIO()
    call_command(
        "create_api_user", "profile-admin", account="Profile", role="Admin", json=True, stdout=out
    )
    key = json.loads(out.getvalue().splitlines()[-1])["key"]
    out = io.StringIO()
    call_command(
        "create_api_user",
        "profile-target",
        account="Profile",
        role="Developer",
        json=True,
        stdout=out,
    )
    target = json.loads(out.getvalue().splitlines()[-1])["id"]
    labels = [{"name": f"profile-{i}", "color": f"#00FF0{i}"} for i in range(3)]

    def call(method, path, body=b"", expected="200"):
        status = []
        chunks = application(environ(method, path, key, body), lambda s, h, *a: status.append(s))
        answer = b"".join(chunks)
        if not status[0].startswith(expected):
            raise SystemExit(f"{method} {path} answered {status[0]}")
        return answer

    # The list's page: 100 API users with 3 labels and 2 account-tier roles each (Developer and
    # Billing), made through the API; the first run of an account makes them.
    roles = [{"role": {"id": id}, "scope": {"tier": "account"}} for id in BENCH_ROLES]
    for i in range(100 - json.loads(call("GET", "/api-users/?length=1"))["count"]):
        user = {"name": f"listed-{i}", "labels": labels, "user_roles": roles}
        call("POST", "/api-users/", json.dumps(user).encode(), expected="201")

    scenarios = {
        "GET": ("GET", f"/api-users/{target}/", lambda n: b""),
        "PATCH": (
            "PATCH",
            f"/api-users/{target}/",
            lambda n: json.dumps({"name": f"profile-{n}", "labels": labels}).encode(),
        ),
        "LIST": ("GET", "/api-users/?length=100", lambda n: b""),
    }
    for name in args.only:
        method, path, body = scenarios[name]
        for n in range(50):
            call(method, path, body(n))
        started, cpu = time.perf_counter(), time.process_time()
        for n in range(args.requests):
            call(method, path, body(n))
        wall = (time.perf_counter() - started) / args.requests * 1000
        cpu = (time.process_time() - cpu) / args.requests * 1000
        print(
            f"== {method} {path}: {wall:.2f} ms per request, {cpu:.2f} ms of it this "
            f"process's CPU ({args.requests} requests) =="
        )
        profile = cProfile.Profile()
        profile.enable()
        for n in range(args.requests):
            call(method, path, body(n))
        profile.disable()
        text = io.StringIO()
        pstats.Stats(profile, stream=text).sort_stats(args.sort).print_stats(args.top)
        print(text.getvalue())


if __name__ == "__main__":
    main()

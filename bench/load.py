"""Closed-loop HTTP load for one endpoint: N threads, each with a persistent connection.

Prints requests per second, latency percentiles and the status codes seen. Bounded by --seconds;
loopback only.
"""

import argparse
import http.client
import json
import statistics
import threading
import time
from collections import Counter
from urllib.parse import urlsplit


def worker(args, deadline, latencies, statuses, lock, index):
    parts = urlsplit(args.url)
    target = f"{parts.path}?{parts.query}" if parts.query else parts.path
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    headers = {"Authorization": f"JWT {args.key}", "Content-Type": "application/json"}
    mine, seen, n = [], Counter(), 0
    while time.perf_counter() < deadline:
        body = None
        if args.method == "PATCH":
            # Alternate between two label sets so that every request is an effective change.
            labels = [
                {"name": f"bench-{index}-{n % 2}", "color": "#00FF00"},
                {"name": "bench", "color": "#0000FF"},
            ]
            body = json.dumps({"name": f"bench-{index}-{n}", "labels": labels})
        start = time.perf_counter()
        conn.request(args.method, target, body=body, headers=headers)
        response = conn.getresponse()
        response.read()
        mine.append(time.perf_counter() - start)
        seen[response.status] += 1
        n += 1
    conn.close()
    with lock:
        latencies.extend(mine)
        statuses.update(seen)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--method", choices=["GET", "PATCH"], default="GET")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=15)
    args = parser.parse_args()

    latencies, statuses, lock = [], Counter(), threading.Lock()
    deadline = time.perf_counter() + args.seconds
    threads = [
        threading.Thread(target=worker, args=(args, deadline, latencies, statuses, lock, i))
        for i in range(args.concurrency)
    ]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started

    cuts = statistics.quantiles(latencies, n=100)
    print(
        f"{args.method} {args.url.split('/', 3)[3]}  concurrency={args.concurrency}  "
        f"requests={len(latencies)}  rps={len(latencies) / elapsed:.0f}  "
        f"p50={cuts[49] * 1000:.1f}ms  p95={cuts[94] * 1000:.1f}ms  p99={cuts[98] * 1000:.1f}ms  "
        f"statuses={dict(statuses)}"
    )


if __name__ == "__main__":
    main()

"""Container health check: every daphne worker answers ``/healthz`` with 200.

Sent the way nginx sends it (an allowed Host, ``X-Forwarded-Proto: https``)
so that ALLOWED_HOSTS and the HTTPS redirect let it through.
"""

import os
import sys
import urllib.error
import urllib.request

TIMEOUT_SECONDS = 5.0


def main() -> int:
    workers = int(os.environ.get("TILEMAKER_WORKERS", "2"))
    base_port = int(os.environ.get("TILEMAKER_WORKER_BASE_PORT", "8001"))
    hosts = [h.strip() for h in os.environ.get("TILEMAKER_ALLOWED_HOSTS", "").split(",")]
    host = next((h for h in hosts if h and "*" not in h and not h.startswith(".")), "localhost")
    failed = []
    for port in range(base_port, base_port + workers):
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/healthz",
            headers={"Host": host, "X-Forwarded-Proto": "https"},
        )
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
                body = response.read().decode()
        except (urllib.error.URLError, OSError) as error:
            failed.append(f"{port}: {error}")
            continue
        print(f"worker {port}: {body}")
    if failed:
        print("unhealthy workers: " + "; ".join(failed), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

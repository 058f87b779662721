"""The image's HEALTHCHECK: GET $HEALTHCHECK_URL and be healthy on 200.

compose.yaml sets the URL for each service that serves HTTP (the web app's /healthz answers 503
until an index is there; the WeCom and Feishu callback servers and a Telegram webhook answer 200
while they run). A service with no HTTP server (Telegram long polling, DingTalk's stream, the
one-off index) leaves it empty and counts as healthy while its process runs.
"""

import os
import sys
import urllib.request


def main() -> int:
    url = os.environ.get("HEALTHCHECK_URL", "")
    if not url:
        return 0
    # the service is on this container's loopback: never through a proxy set for outgoing calls
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=8) as response:
            return 0 if response.status == 200 else 1
    except Exception as exc:  # refused, timed out, or an HTTP error status: all mean unhealthy
        print(f"{url}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Times the queue of open breaks: the dashboard's Reconciliation page (signed in with a secret
key) and GET /payrec/v1/reconciliation_breaks, N requests each, one at a time; prints the
median, p90 and max in milliseconds.

    python3 bench/breaks_page.py http://127.0.0.1:12111 sk_test_… [N]
"""

import base64
import http.cookiejar
import re
import statistics
import sys
import time
import urllib.parse
import urllib.request

base, key = sys.argv[1].rstrip("/"), sys.argv[2]
n = int(sys.argv[3]) if len(sys.argv) > 3 else 50

jar = http.cookiejar.CookieJar()
browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
form = browser.open(f"{base}/dashboard/sign-in").read().decode()
csrf = re.search(r'name="csrf" value="([^"]+)"', form).group(1)
body = urllib.parse.urlencode({"key": key, "csrf": csrf}).encode()
browser.open(f"{base}/dashboard/sign-in", data=body).read()


def timed(open_url, url, must_contain):
    times = []
    for _ in range(n):
        started = time.perf_counter()
        page = open_url(url).read().decode()
        times.append((time.perf_counter() - started) * 1000)
        assert must_contain in page, page[:500]
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.9) - 1], times[-1]


auth = "Basic " + base64.b64encode(f"{key}:".encode()).decode()


def api(url):
    return urllib.request.urlopen(urllib.request.Request(url, headers={"Authorization": auth}))


for name, opener, url, marker in [
    ("dashboard /dashboard/reconciliation", browser.open, f"{base}/dashboard/reconciliation", "Open breaks"),
    ("dashboard, one category", browser.open, f"{base}/dashboard/reconciliation?category=missing_in_payrec", "Open breaks"),
    ("API /payrec/v1/reconciliation_breaks?limit=100", api, f"{base}/payrec/v1/reconciliation_breaks?limit=100", '"object":"list"'),
]:
    median, p90, most = timed(opener, url, marker)
    print(f"{name}: median {median:.1f} ms, p90 {p90:.1f} ms, max {most:.1f} ms ({n} requests)")

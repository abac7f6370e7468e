"""Console figures in a real browser (Debian's Chromium through Playwright): navigation to the overview
being interactive, the pods page with 20,000 pods to its first rows and while 100 changes/s arrive (longest
frame, long tasks, events applied per second), and the JavaScript shipped before the first route renders
(gzip, as served). Prints; asserts nothing.

    .venv/bin/python bench/console.py [--nodes 1000] [--pods 20000] [--rate 100] [--seconds 20]

Everything is real and separate, as in bench/realtime.py: kubesim in this process (controllers off,
populated like the `large` scenario's size: 1,000 GPU nodes, 20,000 pods), the watcher and the API (serving
the built console, `make setup`) as child processes, embedded Postgres and Redis, and Chromium. The changes
are written straight into kubesim's store (a label on a pod), so they travel the whole path: watch →
watcher → Redis → API → WebSocket → the page's live store → the table. On a 2-core machine the browser,
the API, the watcher and kubesim share the cores, so every figure is an upper bound."""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
from benchlib.procs import spawn, stop_all
from benchlib.waiting import wait_until
from playwright.sync_api import Browser, Page, WebSocket, sync_playwright
from podium_kubesim.resources import RESOURCES
from podium_kubesim.runner import RunningKubeSim, start_kubesim
from podium_shared.auth import passwords
from podium_shared.auth.service import create_user
from podium_shared.clusters.service import register_cluster
from podium_shared.db.migrate import upgrade
from podium_shared.db.session import session_factory, unit_of_work
from podium_shared.embedded import EmbeddedPostgres, EmbeddedRedis, free_port, wait_for_port
from podium_shared.models.user import Role
from podium_shared.realtime.keys import state_key
from podium_shared.realtime.stream import compare_ids
from podium_shared.settings import PodiumSettings, use_settings
from redis import Redis

sys.path.insert(0, str(Path(__file__).parent))
from kubesim import populate

ROOT = Path(__file__).resolve().parents[1]
CLUSTER = "bench"
CHROMIUM = "/usr/bin/chromium"
NAMESPACES = ["bench", "ml-training", "podium"]
USER, PASSWORD = "bench", "bench password 0123"
CHROMIUM_ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip

# Installed before any page script: long tasks (> 50 ms on the main thread) and every animation frame's
# length, so the figures come from the browser's own clocks.
MONITOR = """
window.__bench = {longtasks: [], frames: [], recording: false};
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) window.__bench.longtasks.push([e.startTime, e.duration]);
}).observe({type: 'longtask', buffered: true});
(() => {
  let last = null;
  const tick = (t) => {
    if (window.__bench.recording && last !== null) window.__bench.frames.push([last, t - last]);
    last = t;
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
})();
"""


def js_loaded(page: Page, before_ms: float) -> tuple[int, float, int, float]:
    """(files, kB gzip) of JavaScript the page had received by `before_ms` after navigation, and in all so
    far, from the browser's resource timing (encodedBodySize: the bytes on the wire, gzip as served)."""
    entries = page.evaluate(
        "performance.getEntriesByType('resource').filter((e) => e.name.endsWith('.js'))"
        ".map((e) => [e.responseEnd, e.encodedBodySize])"
    )
    early = [size for end, size in entries if end <= before_ms]
    return len(early), sum(early) / 1024, len(entries), sum(size for _, size in entries) / 1024


def first_paint_of(page: Page, selector: str, timeout_ms: float) -> float:
    """ms from navigation start until `selector` matches (checked every animation frame)."""
    page.wait_for_function(f"() => document.querySelector({json.dumps(selector)})", polling="raf",
                           timeout=timeout_ms)  # fmt: skip
    return float(page.evaluate("performance.now()"))


def interactive_at(longtasks: list[list[float]], shown_ms: float, quiet_ms: float = 500) -> float:
    """The first moment at or after `shown_ms` followed by `quiet_ms` with no long task (the usual
    time-to-interactive rule, with the data shown in place of the first contentful paint)."""
    t = shown_ms
    for start, duration in sorted(longtasks):
        if start + duration <= t:
            continue
        if start - t >= quiet_ms:
            break
        t = max(t, start + duration)
    return t


def overview(browser: Browser, base: str, login: dict[str, str]) -> None:
    """Cold (empty cache; signed in through the API, so no script ran before) and warm navigations."""
    context = browser.new_context(base_url=base, viewport={"width": 1400, "height": 900})
    context.request.post(f"{base}/api/v1/auth/login", data=login)
    for label in ("cold", "warm"):
        page = context.new_page()
        page.add_init_script(MONITOR)
        page.goto(f"/c/{CLUSTER}/overview")
        rendered = first_paint_of(page, "[data-testid=live-status]", 60_000)
        shown = first_paint_of(page, "[data-testid=totals-data][data-capacity]", 60_000)
        page.wait_for_timeout(1500)  # room for the quiet window the interactive rule looks for
        tasks = page.evaluate("window.__bench.longtasks")
        tti = interactive_at(tasks, shown)
        files, early_kb, all_files, all_kb = js_loaded(page, rendered)
        longest = max((d for _, d in tasks), default=0)
        print(
            f"overview ({label}): route rendered {rendered:.0f} ms, GPU totals shown {shown:.0f} ms after "
            f"navigation, interactive at {tti:.0f} ms; {len(tasks)} long tasks (longest {longest:.0f} ms)"
        )
        if label == "cold":
            print(
                f"overview (cold): JavaScript before the route rendered: {files} files, {early_kb:.0f} kB "
                f"gzip; with what loads after (the chart): {all_files} files, {all_kb:.0f} kB gzip"
            )
        page.close()
    context.close()


def login_page_js(browser: Browser, base: str) -> None:
    context = browser.new_context(base_url=base)
    page = context.new_page()
    page.goto("/login")
    rendered = first_paint_of(page, "[data-testid=login-submit]", 60_000)
    files, kb, _, _ = js_loaded(page, rendered)
    print(
        f"/login (cold): form rendered {rendered:.0f} ms after navigation; JavaScript before it: "
        f"{files} files, {kb:.0f} kB gzip"
    )
    context.close()


class Changer(threading.Thread):
    """`rate` label changes per second on random pods, written into kubesim's store in small batches."""

    def __init__(self, ks: RunningKubeSim, names: list[tuple[str, str]], rate: float) -> None:
        super().__init__(daemon=True)
        self.ks, self.names, self.rate = ks, names, rate
        self.stop = threading.Event()
        self.sent = 0

    def run(self) -> None:
        pods = RESOURCES["pods"]
        rng = random.Random(7)
        batch = max(1, round(self.rate / 20))  # 20 batches a second: each is one call into the sim loop
        start = time.monotonic()
        while not self.stop.is_set():
            chosen = [rng.choice(self.names) for _ in range(batch)]
            seq = self.sent

            def apply(chosen: list[tuple[str, str]] = chosen, seq: int = seq) -> None:
                for i, (ns, name) in enumerate(chosen):
                    self.ks.sim.store.mutate(
                        pods, ns, name, lambda o, v=str(seq + i): o["metadata"]["labels"].update(bench=v)
                    )

            self.ks.call(apply)
            self.sent += batch
            time.sleep(max(0.0, start + self.sent / self.rate - time.monotonic()))


def pods_page(browser: Browser, base: str, login: dict[str, str], ks: RunningKubeSim, args: Any) -> None:
    context = browser.new_context(base_url=base, viewport={"width": 1400, "height": 900})
    context.request.post(f"{base}/api/v1/auth/login", data=login)
    page = context.new_page()
    page.add_init_script(MONITOR)
    received: list[tuple[float, str]] = []

    def on_ws(ws: WebSocket) -> None:
        def frame(payload: str | bytes) -> None:
            text = payload if isinstance(payload, str) else payload.decode()
            if text.startswith('{"type":"event"') or '"type": "event"' in text[:40]:
                received.append((time.monotonic(), json.loads(text)["id"]))

        ws.on("framereceived", frame)

    page.on("websocket", on_ws)
    page.goto(f"/c/{CLUSTER}/workloads/pods")
    first = first_paint_of(page, "[data-testid=pods-table] [data-row-key]", 120_000)
    count = "document.querySelector('[data-testid=row-count]')?.textContent ?? ''"
    page.wait_for_function(f"() => ({count}).includes('of {args.pods}')", timeout=120_000)
    full = float(page.evaluate("performance.now()"))
    longest = max((d for _, d in page.evaluate("window.__bench.longtasks")), default=0)
    print(
        f"pods page ({args.pods} pods): first rows {first:.0f} ms after navigation, all {args.pods} counted "
        f"at {full:.0f} ms; longest long task while loading {longest:.0f} ms"
    )

    page.wait_for_timeout(2000)
    under_changes(page, ks, args, received)
    context.close()


def under_changes(page: Page, ks: RunningKubeSim, args: Any, received: list[tuple[float, str]]) -> None:
    """Frames and long tasks while `args.rate` pod changes a second arrive and the list is scrolled."""
    page.evaluate("Object.assign(window.__bench, {longtasks: [], frames: [], recording: true})")
    names = [(NAMESPACES[i % len(NAMESPACES)], f"model-{i // 100}-{i:06d}") for i in range(args.pods)]
    changer = Changer(ks, names, args.rate)
    received.clear()
    t0 = time.monotonic()
    changer.start()
    # Scrolling while changes arrive is what a person does with a long list; it makes the table render.
    body = page.locator("[data-testid=pods-table] [role=region]")
    end = t0 + args.seconds
    while time.monotonic() < end:
        if body.count():
            body.first.hover()
            page.mouse.wheel(0, 400)
        page.wait_for_timeout(250)
    changer.stop.set()
    changer.join()
    sent_s = time.monotonic() - t0
    badge = page.get_by_test_id("live-status").first

    def caught_up() -> bool:
        """The page applied every event received so far, and none has arrived for half a second."""
        if not received:
            return True
        shown = badge.get_attribute("data-last-id")
        quiet = time.monotonic() - received[-1][0] > 0.5
        return quiet and shown is not None and compare_ids(shown, received[-1][1]) >= 0

    deadline = time.monotonic() + 60
    while not caught_up() and time.monotonic() < deadline:
        page.wait_for_timeout(50)
    all_applied = caught_up()
    done_s = time.monotonic() - t0
    page.evaluate("window.__bench.recording = false")
    frames = [d for _, d in page.evaluate("window.__bench.frames")]
    tasks = page.evaluate("window.__bench.longtasks")
    durations = [d for _, d in tasks]
    if all_applied:
        applied_text = (
            f"all applied {done_s - sent_s:.2f}s after the last was sent = "
            f"{len(received) / done_s:.0f} events applied/s"
        )
    else:
        applied_text = "NOT all applied 60 s after the last was sent"
    rate = changer.sent / sent_s
    print(
        f"pods page, {changer.sent} changes in {sent_s:.1f}s ({rate:.0f}/s) while scrolling: "
        f"{len(received)} events received, {applied_text}; frames: {len(frames)}, "
        f"longest {max(frames, default=0):.0f} ms, p99 {pct(frames, 0.99):.0f} ms, "
        f"{sum(1 for f in frames if f > 100)} over 100 ms; long tasks: {len(tasks)}, "
        f"longest {max(durations, default=0):.0f} ms, {sum(durations):.0f} ms in all "
        f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)"
    )


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def main() -> None:  # noqa: PLR0915 - a linear script of measurements
    ap = argparse.ArgumentParser()
    ap.add_argument("--nodes", type=int, default=1000)
    ap.add_argument("--pods", type=int, default=20000)
    ap.add_argument("--rate", type=float, default=100.0, help="pod changes per second on the pods page")
    ap.add_argument("--seconds", type=float, default=20.0)
    args = ap.parse_args()
    console = ROOT / "services" / "console" / "dist"
    if not (console / "index.html").is_file():
        raise SystemExit("the console is not built: run `make setup`")
    tmp = Path(tempfile.mkdtemp(prefix="podium-bench-console-"))
    procs: list[subprocess.Popen[bytes]] = []
    pg = EmbeddedPostgres(tmp / "pg").start()
    rd = EmbeddedRedis(tmp / "redis").start()
    ks: RunningKubeSim = start_kubesim(controllers=False, history_size=50_000)
    try:
        print(f"populating kubesim: {args.nodes} nodes, {args.pods} pods ...", flush=True)
        ks.call(lambda: populate(ks.sim.store, NAMESPACES, args.nodes, args.pods), timeout=900)
        kubeconfig = ks.write_kubeconfig(tmp / "kubeconfig")
        upgrade(pg.url)
        # This process's own writes (a new user moves the auth epoch after its commit) go to this Redis.
        use_settings(PodiumSettings(environment="development", database_url=pg.url, redis_url=rd.url))
        with unit_of_work(session_factory(pg.url)) as s:
            register_cluster(s, CLUSTER, kubeconfig_path=str(kubeconfig), context="kubesim")
            user, _ = create_user(s, USER, Role.admin)
            user.password_hash = passwords.hash_password(PASSWORD)
        env = {
            **os.environ,
            "PODIUM_ENVIRONMENT": "development",
            "PODIUM_DATABASE_URL": pg.url,
            "PODIUM_REDIS_URL": rd.url,
            "PODIUM_WATCHER_METRICS_PORT": "0",
            "PODIUM_CONSOLE_DIR": str(console),
            "PODIUM_RATE_LIMIT_PER_SECOND": "1000",
            "PODIUM_RATE_LIMIT_BURST": "1000",
        }
        redis = Redis.from_url(rd.url)
        procs.append(spawn([sys.executable, "-m", "podium_watcher"], env, tmp / "watcher.log"))
        synced = lambda: redis.hlen(state_key(CLUSTER, "pods")) >= args.pods  # noqa: E731
        wait_until(synced, 900, "the watcher's first sync", interval=0.2)
        redis.close()
        port = free_port()
        api_code = (
            "import uvicorn; from podium_api.app import create_app; "
            f"uvicorn.run(create_app(), host='127.0.0.1', port={port}, log_level='warning')"
        )
        procs.append(spawn([sys.executable, "-c", api_code], env, tmp / "api.log"))
        wait_for_port(port, 120)
        base = f"http://127.0.0.1:{port}"
        httpx.get(f"{base}/", timeout=30).raise_for_status()
        login = {"username": USER, "password": PASSWORD}
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            login_page_js(browser, base)
            overview(browser, base, login)
            pods_page(browser, base, login, ks, args)
            browser.close()
        sizes = sorted(
            ((p.name, len(p.read_bytes())) for p in (console / "assets").glob("*.js")), key=lambda x: -x[1]
        )
        print("largest built chunks (raw): " + ", ".join(f"{n} {b / 1024:.0f} kB" for n, b in sizes[:5]))
    finally:
        stop_all(procs)
        ks.stop()
        rd.stop()
        pg.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()

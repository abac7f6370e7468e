"""`python -m podium_awsemu --port 5055 --speed 1 --seed default`: serve emulated AWS until SIGTERM."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from importlib import resources
from pathlib import Path
from types import FrameType

from podium_awsemu import seed
from podium_awsemu.server import EmulatorServer


def load_seed(value: str | None) -> dict[str, object] | None:
    if not value or value == "none":
        return None
    if value == "default":
        text = resources.files("podium_awsemu").joinpath("default_seed.json").read_text()
    else:
        text = Path(value).read_text()
    doc = json.loads(text)
    assert isinstance(doc, dict)
    return doc


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="podium_awsemu", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5055)
    parser.add_argument("--speed", type=float, default=1.0, help="divides every transition delay")
    parser.add_argument("--seed", default="none", help="'default', 'none' or a JSON file (see seed.py)")
    args = parser.parse_args(argv)
    server = EmulatorServer(args.host, args.port, args.speed).start()
    doc = load_seed(args.seed)
    if doc is not None:
        seed.apply(server.url, doc)
    print(f"podium_awsemu: serving emulated AWS on {server.url} (speed {args.speed})", flush=True)
    stop = threading.Event()

    def _stop(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    stop.wait()
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())

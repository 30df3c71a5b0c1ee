"""`python -m voice.simulator --port 5001 --account-sid AC… --auth-token …`

Runs the simulator standalone until interrupted (Ctrl-C). Scenarios are then sent to its
control API (`POST /_sim/scenarios`), and the application's Twilio client is pointed at
its base URL.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import threading

from voice.simulator.server import Simulator
from voice.simulator.world import Faults


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m voice.simulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5001)
    parser.add_argument("--account-sid", required=True)
    parser.add_argument("--auth-token", required=True)
    parser.add_argument(
        "--time-scale", type=float, default=0.0, help="real seconds per virtual second"
    )
    parser.add_argument("--webhook-timeout", type=float, default=15.0)
    parser.add_argument("--duplicate-webhooks", action="store_true")
    parser.add_argument("--reorder-callbacks", action="store_true")
    parser.add_argument("--fail-primary", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--exit-with-parent",
        action="store_true",
        help="stop when the process that started it dies, even by SIGKILL",
    )
    return parser.parse_args(argv)


def watch_parent(stopped: threading.Event, interval: float = 0.5) -> None:
    """Set ``stopped`` once the parent process is gone (the child is then re-parented, so
    ``getppid`` changes): a companion must not outlive ``ordophone serve``, polling a dead
    port forever."""
    parent = os.getppid()

    def watch() -> None:
        while not stopped.wait(interval):
            if os.getppid() != parent:
                logging.getLogger("voice.simulator").info("parent %s is gone: stopping", parent)
                stopped.set()

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if not args.account_sid.startswith("AC"):
        raise SystemExit("--account-sid must start with AC")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    faults = Faults(
        duplicate_webhooks=args.duplicate_webhooks,
        reorder_callbacks=args.reorder_callbacks,
        fail_primary=args.fail_primary,
        seed=args.seed,
    )
    simulator = Simulator(
        args.account_sid,
        args.auth_token,
        time_scale=args.time_scale,
        webhook_timeout=args.webhook_timeout,
        faults=faults,
    )
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    if args.exit_with_parent:
        watch_parent(stopped)
    base_url = simulator.start(args.host, args.port)
    print(f"Twilio simulator listening on {base_url}", flush=True)
    try:
        stopped.wait()
    except KeyboardInterrupt:
        pass
    finally:
        simulator.stop()


if __name__ == "__main__":
    main()

"""`python -m sandbox [--host H] [--port N] [--time-scale F]`: run the WeChat sandbox."""
import argparse
import errno
import signal
import sys
import threading

from sandbox.config import default_port, default_time_scale
from sandbox.server import start


def parse_arguments(argv):
    parser = argparse.ArgumentParser(prog="python -m sandbox",
                                     description="A local stand-in for WeChat and WeChat Pay.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=default_port(),
                        help="default: $WECHAT_SANDBOX_PORT or 8200")
    parser.add_argument("--time-scale", type=float, default=default_time_scale(),
                        help="multiplies every notify retry and refund settling delay (default: "
                             "$WECHAT_SANDBOX_TIME_SCALE or 1.0)")
    return parser.parse_args(argv)


def main(argv=None):
    arguments = parse_arguments(argv)
    try:
        server = start(arguments.host, arguments.port, arguments.time_scale)
    except OSError as error:
        if error.errno != errno.EADDRINUSE:
            raise
        print(f"WeChat sandbox: port {arguments.port} is already in use; "
              "set WECHAT_SANDBOX_PORT to another port", file=sys.stderr)
        return 2
    stop_requested = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop_requested.set())
    print(f"WeChat sandbox listening on {server.url}", flush=True)
    stop_requested.wait()
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())

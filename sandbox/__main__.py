"""`python -m sandbox [--host H] [--port N] [--tls-port N] [--ca-dir DIR] [--time-scale F]`:
run the WeChat sandbox."""
import argparse
import errno
import signal
import sys
import threading

from sandbox.config import default_ca_dir, default_port, default_time_scale, default_tls_port
from sandbox.server import start


def parse_arguments(argv):
    parser = argparse.ArgumentParser(prog="python -m sandbox",
                                     description="A local stand-in for WeChat and WeChat Pay.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=default_port(),
                        help="default: $WECHAT_SANDBOX_PORT or 8200")
    parser.add_argument("--tls-port", type=int, default=default_tls_port(),
                        help="HTTPS, the merchant certificate required under /secapi/ "
                             "(default: $WECHAT_SANDBOX_TLS_PORT or 8201)")
    parser.add_argument("--ca-dir", default=default_ca_dir(),
                        help="where the test CA made at start goes: ca.pem (to trust), "
                             "apiclient_cert.pem and apiclient_key.pem (the merchant's API "
                             "certificate) (default: $WECHAT_SANDBOX_CA_DIR or a temporary "
                             "directory)")
    parser.add_argument("--time-scale", type=float, default=default_time_scale(),
                        help="multiplies every notify retry and refund settling delay (default: "
                             "$WECHAT_SANDBOX_TIME_SCALE or 1.0)")
    return parser.parse_args(argv)


def main(argv=None):
    arguments = parse_arguments(argv)
    try:
        server = start(arguments.host, arguments.port, arguments.time_scale,
                       arguments.tls_port, arguments.ca_dir)
    except OSError as error:
        if error.errno != errno.EADDRINUSE:
            raise
        ports = " or ".join(str(port) for port in (arguments.port, arguments.tls_port) if port)
        print(f"WeChat sandbox: port {ports} is already in use; set WECHAT_SANDBOX_PORT or "
              "WECHAT_SANDBOX_TLS_PORT to another port", file=sys.stderr)
        return 2
    stop_requested = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop_requested.set())
    print(f"WeChat sandbox listening on {server.url} and {server.tls_url} "
          f"(its CA and the merchant certificate in {server.ca_dir})", flush=True)
    stop_requested.wait()
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())

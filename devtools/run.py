"""`make run`: DynamoDB Local (data kept in .data/), the WeChat sandbox, tables, the demo
brand, `chalice local`, the scheduler that runs every job on its schedule (devtools/jobs.py),
and the poller that hands each streamed table's changes to its stream function
(devtools/streams.py). Ctrl-C stops them all, the last started first."""
import os
import shutil
import signal
import subprocess
import sys
import time

from devtools import processes
from devtools.processes import ROOT, PortTaken


def prepare_data():
    """Tables, the demo brand, and an admin invite code for this run."""
    from chalicelib.tables import create_missing_tables
    from devtools.seed import seed_demo_brand

    created = create_missing_tables()
    print(f"tables: {len(created)} created" + (f" ({', '.join(created)})" if created else ""))
    print(f"demo brand: {seed_demo_brand()} items written (0 means it was already there)")
    from chalicelib.members.staff import ADMIN, invite

    print(f"admin invite code for this run: {invite(ADMIN, None, 'demo admin', 'make-run')['code']}"
          " (claim it with POST /staff/invites/claim)")


def _prepare_data_apart():
    """prepare_data in a process of its own: making the tables opens a DynamoDB client per
    model, hundreds of MB that the launcher would otherwise keep while it waits, and take
    seconds to free when Ctrl-C stops it."""
    prepared = subprocess.run([sys.executable, "-c", "from devtools import run; "
                               "run.prepare_data()"], cwd=ROOT)
    if prepared.returncode != 0:
        raise RuntimeError(f"preparing the tables and the demo brand failed (status "
                           f"{prepared.returncode})")


def _stop_like_ctrl_c(signum, frame):
    raise KeyboardInterrupt


def _until_one_exits(running):
    """Waits until one of the {process: what} exits; returns its status (stopping the
    scheduler or the stream poller stops `make run` too, rather than leave the jobs or the
    payments' effects silently not running)."""
    while True:
        for process, what in running.items():
            if process.poll() is not None:
                print(f"make run: {what} exited with status {process.returncode}",
                      file=sys.stderr)
                return process.returncode
        time.sleep(0.5)


def main():
    ports = processes.run_ports()
    try:
        for port, what, env_var in ports.values():
            processes.ensure_free(port, what, env_var)
    except PortTaken as exc:
        print(exc, file=sys.stderr)
        return 2

    os.environ.setdefault("YUTANG_STAGE", "local")
    children = []
    ca_dir = processes.run_ca_dir(ports["sandbox"][0])  # the sandbox makes a CA each start
    shutil.rmtree(ca_dir, ignore_errors=True)
    ca_dir.mkdir()
    # Also SIGINT explicitly: a shell starting us in the background would have it ignored.
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, _stop_like_ctrl_c)
    try:
        data_dir = os.environ.get("YUTANG_DATA_DIR", ROOT / ".data" / "dynamodb")
        # DynamoDB Local and the sandbox in sessions of their own: Ctrl-C reaches the whole
        # terminal's group at once, and they must outlive the jobs still running on them;
        # they are stopped last, below.
        children.append(processes.start_dynamodb_local(ports["dynamodb"][0], data_dir=data_dir,
                                                       stdout=subprocess.DEVNULL,
                                                       start_new_session=True))
        print(f"DynamoDB Local on port {ports['dynamodb'][0]}, data in {data_dir}")
        children.append(processes.start_wechat_sandbox(ports["sandbox"][0],
                                                       ports["sandbox_tls"][0], ca_dir,
                                                       start_new_session=True))
        os.environ.update(processes.local_environment(
            ports["dynamodb"][0], ports["sandbox"][0], ports["sandbox_tls"][0], ca_dir))
        _prepare_data_apart()
        # `chalice local`, answering unknown routes as the deployed API does
        chalice = subprocess.Popen([sys.executable, "-m", "devtools.local_api", "local",
                                    "--stage", "local", "--host", "127.0.0.1", "--port",
                                    str(ports["api"][0]), "--no-autoreload"], cwd=ROOT)
        children.append(chalice)
        processes.wait_for_port(ports["api"][0], chalice, "chalice local")
        scheduler = subprocess.Popen([sys.executable, "-m", "devtools.jobs", "--serve"],
                                     cwd=ROOT)
        children.append(scheduler)
        print("jobs: every @schedule runs on its rate or cron (UTC), as on AWS; "
              "`make jobs` lists them, `make jobs JOB=<name>` runs one now")
        # Started last, stopped first: it delivers what the API and the jobs write.
        poller = subprocess.Popen([sys.executable, "-m", "devtools.streams", "--serve"],
                                  cwd=ROOT)
        children.append(poller)
        print("streams: each table's changes reach its @on_dynamodb_record function as on "
              "AWS (the orders' payments: points, commissions, messages…)")
        print(f"Yutang API on http://127.0.0.1:{ports['api'][0]}  (Ctrl-C stops everything)")
        return _until_one_exits({chalice: "chalice local", scheduler: "the job scheduler",
                                 poller: "the stream poller"})
    except KeyboardInterrupt:
        print("\nstopping…")
        return 0
    except RuntimeError as exc:
        print(f"make run: {exc}", file=sys.stderr)
        return 1
    finally:
        processes.stop(children)
        shutil.rmtree(ca_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())

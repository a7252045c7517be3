"""What a Lambda cold start pays to import the app, against importing the designated
libraries eagerly. Each sample is a fresh interpreter; the two kinds alternate so machine
noise falls on both alike."""
import statistics
import subprocess
import sys

from devtools.processes import ROOT

SAMPLES = 9
EAGER = "botocore.session, pynamodb.models, wechatpy, wechatpy.pay, aws_xray_sdk.core, chalice"

_TIMED_IMPORT = ("import time; started = time.perf_counter(); import {modules}; "
                 "print(time.perf_counter() - started)")


def _import_seconds(modules):
    output = subprocess.run([sys.executable, "-c", _TIMED_IMPORT.format(modules=modules)],
                            cwd=ROOT, check=True, capture_output=True, text=True).stdout
    return float(output.strip().splitlines()[-1])


def run():
    app_times, eager_times = [], []
    for _ in range(SAMPLES):
        app_times.append(_import_seconds("app"))
        eager_times.append(_import_seconds(EAGER))
    app_s, eager_s = statistics.median(app_times), statistics.median(eager_times)
    return {
        "cold_start_import_app_s": round(app_s, 4),
        "cold_start_import_eager_s": round(eager_s, 4),
        "cold_start_app_to_eager_ratio": round(app_s / eager_s, 3),
    }

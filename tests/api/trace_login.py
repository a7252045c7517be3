"""Signs one person in with tracing on and prints the X-Ray segments that were emitted.

Run in its own process by test_tracing.py, so patching botocore and requests for X-Ray does
not leak into the rest of the suite."""
import json
import os
import sys

from aws_xray_sdk.core import xray_recorder
from chalice.test import Client

import app as yutang
from chalicelib.core import tracing
from tests.api.xray_capture import capture_segments


def main(code):
    os.environ["YUTANG_TRACING"] = "on"
    segments = capture_segments()
    tracing.enable()
    xray_recorder.configure(sampling=False)
    with Client(yutang.app, stage_name="test") as client:
        response = client.http.post("/auth/login", body=json.dumps({"code": code}),
                                    headers={"Content-Type": "application/json"})
    print(json.dumps({"status": response.status_code, "segments": segments}))


if __name__ == "__main__":
    main(sys.argv[1])

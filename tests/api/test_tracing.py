import json
import os
import subprocess
import sys

from devtools.processes import ROOT


def _subsegments(entity):
    for child in entity.get("subsegments", []):
        yield child
        yield from _subsegments(child)


def test_a_traced_login_records_dynamodb_and_wechat_calls(local_services, wechat_user):
    run = subprocess.run([sys.executable, "-m", "tests.api.trace_login", wechat_user.login_code()],
                         cwd=ROOT, env=dict(os.environ), capture_output=True, text=True,
                         timeout=60, check=True)
    captured = json.loads(run.stdout.strip().splitlines()[-1])

    assert captured["status"] == 200
    [segment] = captured["segments"]
    assert segment["name"] == "POST /auth/login"
    calls = list(_subsegments(segment))
    dynamodb = [c for c in calls if c.get("namespace") == "aws" and c["name"] == "dynamodb"]
    assert {c["aws"]["operation"] for c in dynamodb} >= {"GetItem", "TransactWriteItems"}
    wechat_urls = [c["http"]["request"]["url"] for c in calls if c.get("namespace") == "remote"]
    assert f"{local_services['sandbox']}/sns/jscode2session" in wechat_urls

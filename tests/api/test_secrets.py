"""Secrets, codes and tokens never reach a log line or a trace, even when WeChat fails."""
import json
import os
import subprocess
import sys
from urllib.parse import quote

from devtools.processes import ROOT, free_port


def _forms(value):
    """A value as it may be written: as is, or percent-encoded in a URL."""
    return {value, quote(value, safe=""), quote(value)}


def test_wechat_failures_leave_no_secret_code_or_token_in_logs_or_traces(local_services,
                                                                        tmp_path):
    found = tmp_path / "found.json"
    run = subprocess.run([sys.executable, "-m", "tests.api.wechat_failures",
                          local_services["sandbox"], f"http://127.0.0.1:{free_port()}",
                          str(found)],
                         cwd=ROOT, env=dict(os.environ), capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0, run.stderr[-3000:]
    captured = json.loads(found.read_text())
    statuses = captured["statuses"]
    assert {name: statuses[name] for name in ("login", "phone", "pay", "token_fetch",
                                              "login_error_page", "pay_error_page")} == \
        dict.fromkeys(("login", "phone", "pay", "token_fetch", "login_error_page",
                       "pay_error_page"), 502)
    assert statuses["login_refused"] == statuses["phone_refused"] == 400
    assert statuses["refresh"] == 200
    # The failures were logged and traced, so the search below has something to search.
    assert run.stdout.count('"wechat_call_failed"') >= 3
    assert run.stdout.count('"wechat_pay_unreachable"') >= 1
    traced = json.dumps(captured["segments"])
    assert "Connection refused" in traced and '"fault": true' in traced
    assert "DEBUG" in run.stderr  # the libraries' own logging was on

    for name, value in captured["needles"].items():
        for form in _forms(value):
            assert form not in run.stdout, f"the {name} is in our logs"
            assert form not in run.stderr, f"the {name} is in the libraries' logs"
            assert form not in traced, f"the {name} is in the X-Ray segments"

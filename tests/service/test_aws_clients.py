"""A Lambda container makes one DynamoDB client, whichever tables it touches: creating a
botocore client costs a cold start about 0.1 s, and PynamoDB on its own makes one per model."""
import json
import os
import subprocess
import sys

import pytest

from devtools.processes import ROOT


def test_a_fresh_process_serves_every_table_and_its_transactions_with_one_client(
        local_services, wechat_user):
    run = subprocess.run([sys.executable, "-m", "tests.service.every_table",
                          wechat_user.login_code()],
                         cwd=ROOT, env=dict(os.environ), capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0, run.stderr[-3000:]

    assert json.loads(run.stdout.strip().splitlines()[-1]) == ["dynamodb"]


def test_the_models_follow_the_endpoint_they_are_pointed_at(local_services, monkeypatch):
    """Settings are read when used: pointed at another DynamoDB, a model reads there; pointed
    back, it reads the suite's again."""
    from pynamodb.exceptions import DoesNotExist, GetError

    from chalicelib.members.models import Member
    from devtools.processes import free_port

    monkeypatch.setenv("DYNAMODB_HOST", f"http://127.0.0.1:{free_port()}")  # none listens
    with pytest.raises(GetError, match="Could not connect"):
        Member.get("no-such-member")

    monkeypatch.undo()
    with pytest.raises(DoesNotExist):
        Member.get("no-such-member")

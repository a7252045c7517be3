"""A Lambda container of its own (this process) calling WeChat through the app's adapter.

It prints "ready" once it can call; then each line on stdin makes it call the phone-number API
(which takes the access token) that many times and print "done" and the JSON list of the error
codes of the calls that failed. Its other lines on stdout are the app's logs. Run by
test_access_token.py, several at once."""
import json
import sys
import uuid

from chalicelib import wechat
from chalicelib.errors import DomainError


def main():
    container = wechat.mini_program()
    print("ready", flush=True)
    for line in sys.stdin:
        failures = []
        for _ in range(int(line)):
            phone = f"139{uuid.uuid4().int % 10**8:08d}"
            try:
                container.phone_number(f"sandbox-phone:{phone}:{uuid.uuid4().hex}")
            except DomainError as error:
                failures.append(error.code)
        print("done", json.dumps(failures), flush=True)


if __name__ == "__main__":
    main()

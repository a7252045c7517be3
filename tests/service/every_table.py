"""A Lambda container of its own (this process): a member signs in (reads, and a transaction),
then every table is read at once from several threads, as the nearest-stores search reads its
cells. Prints the JSON list of the AWS services of the botocore clients this process made.
Run by test_aws_clients.py, with the environment of the suite's DynamoDB Local and sandbox."""
import json
import sys
from concurrent.futures import ThreadPoolExecutor

import botocore.client

made = []
_make = botocore.client.ClientCreator.create_client


def _counted(creator, service_name, *args, **kwargs):
    made.append(service_name)
    return _make(creator, service_name, *args, **kwargs)


def _read_nothing_from(model):
    """A GetItem of a key no item has: the model's table is touched, nothing is found."""
    from pynamodb.attributes import NumberAttribute
    from pynamodb.exceptions import DoesNotExist

    keys = [attribute for attribute in (model._hash_key_attribute(),
                                        model._range_key_attribute()) if attribute]
    values = [0 if isinstance(key, NumberAttribute) else "no-such-item" for key in keys]
    try:
        model.get(*values)
    except DoesNotExist:
        return model.Meta.table_name
    raise AssertionError(f"{model.Meta.table_name} holds the item no-such-item")


def main(code):
    botocore.client.ClientCreator.create_client = _counted
    from chalicelib import wechat
    from chalicelib.members import accounts
    from chalicelib.tables import all_models

    accounts.login(code, wechat.mini_program())
    with ThreadPoolExecutor(max_workers=9) as pool:
        read = list(pool.map(_read_nothing_from, all_models()))
    assert len(set(read)) == len(all_models()), read
    print(json.dumps(made))


if __name__ == "__main__":
    main(sys.argv[1])

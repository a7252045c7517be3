"""The SAM transform, offline: what CloudFormation makes of a synthesized stack.

Chalice's construct brings the app in as SAM resources (`AWS::Serverless::Function`,
`AWS::Serverless::Api`); CloudFormation expands them when the stack is deployed. The tests
expand them here with the same open-source translator, to check what will exist: the
Lambda functions, their EventBridge schedules, the API's stage.

    python -m yutang_infra.sam TEMPLATE.json EXPANDED.json REGION
"""
import copy
import json
import os
import sys


class _NoManagedPolicies:
    """The app's functions name their role; SAM attaches no managed policy to look up."""

    def load(self):
        return {}


def expand(template, region):
    from samtranslator.translator.transform import transform

    # The translator reads the region from a boto3 session (no call is made).
    os.environ["AWS_DEFAULT_REGION"] = region
    return transform(copy.deepcopy(template), {"AWS::Region": region}, _NoManagedPolicies())


def main(argv):
    source, target, region = argv
    with open(source, encoding="utf-8") as handle:
        template = json.load(handle)
    with open(target, "w", encoding="utf-8") as handle:
        json.dump(expand(template, region), handle, indent=1, sort_keys=True)


if __name__ == "__main__":
    main(sys.argv[1:])

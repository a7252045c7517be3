"""The per-brand stacks of infra/, synthesized offline for two brands and checked.

The CDK app runs in its own venv (infra/.venv, made by `make infra-install`, which `make
test` runs first) as a subprocess, once per session, for the brands `demo` and `acme`
together; the SAM resources Chalice brings in are expanded with the SAM translator, as
CloudFormation will expand them. No AWS call is made: the AWS variables are placeholders.
"""
import json
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
INFRA = ROOT / "infra"
INFRA_PY = INFRA / ".venv" / "bin" / "python"
BRANDS = ("demo", "acme")
NOTIFY_FILTER = '{ $.event = "pay_notify_rejected" }'

sys.path.append(str(INFRA))
from yutang_infra import brands as brand_configs  # noqa: E402
from yutang_infra import yutang_app  # noqa: E402


def _offline_env(**extra):
    """The environment, less any AWS profile or credentials, plus placeholders."""
    env = {key: value for key, value in os.environ.items()
           if not key.startswith("AWS_") or key == "AWS_CA_BUNDLE"}
    env.update(AWS_ACCESS_KEY_ID="offline-synth", AWS_SECRET_ACCESS_KEY="offline-synth",
               AWS_EC2_METADATA_DISABLED="true", **extra)
    return env


def _check(result):
    if result.returncode != 0:
        pytest.fail(f"{' '.join(map(str, result.args))} exited {result.returncode}\n"
                    f"--- stdout\n{result.stdout[-6000:]}\n--- stderr\n{result.stderr[-6000:]}")
    return result


def _run(args, **kwargs):
    return _check(subprocess.run(args, capture_output=True, text=True, **kwargs))


class Background:
    """A command started now, its result read when a test wants it (2 cores: the slow
    steps overlap)."""

    def __init__(self, args, **kwargs):
        self.args = [str(arg) for arg in args]
        self._out = tempfile.TemporaryFile("w+")
        self._err = tempfile.TemporaryFile("w+")
        self._process = subprocess.Popen(self.args, stdout=self._out, stderr=self._err,
                                         text=True, **kwargs)
        self._result = None

    def result(self):
        if self._result is None:
            self._process.wait()
            self._out.seek(0)
            self._err.seek(0)
            self._result = subprocess.CompletedProcess(self.args, self._process.returncode,
                                                       self._out.read(), self._err.read())
        return self._result


# The same App setup as the brands' stacks, with an SNS topic that does not enforce TLS:
# cdk-nag must refuse it.
NAG_CONTROL = """
import sys
sys.path.insert(0, ".")
from aws_cdk import Stack, aws_sns as sns
from main import checked_app
app = checked_app(sys.argv[1])
sns.Topic(Stack(app, "NagControl"), "Open")
app.synth()
"""


class Synthesized:
    def __init__(self, outdir):
        self.outdir = outdir
        self.brands = {brand_id: brand_configs.load(brand_id) for brand_id in BRANDS}
        self.lint = {}
        self.nag_control = None
        self.nag_control_outdir = None

    def template_path(self, brand_id):
        return self.outdir / f"Yutang-{brand_id}.template.json"

    def expanded_path(self, brand_id):
        return self.outdir / f"Yutang-{brand_id}.expanded.json"

    def template(self, brand_id):
        return json.loads(self.template_path(brand_id).read_text())

    def expanded(self, brand_id):
        return json.loads(self.expanded_path(brand_id).read_text())


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory):
    """Both brands' stacks, synthesized once (cdk-nag runs as part of the synthesis), their
    SAM resources expanded, and cfn-lint started on both."""
    _run(["make", "-s", "infra-install"], cwd=ROOT)
    synthesized = Synthesized(tmp_path_factory.mktemp("cdk.out"))
    synthesized.nag_control_outdir = tmp_path_factory.mktemp("nag-control")
    synthesized.nag_control = Background(
        [INFRA_PY, "-c", NAG_CONTROL, synthesized.nag_control_outdir], cwd=INFRA,
        env=_offline_env())
    env = _offline_env(BRAND=",".join(BRANDS), CDK_OUTDIR=str(synthesized.outdir))
    result = subprocess.run([str(INFRA_PY), "main.py"], cwd=INFRA, env=env,
                            capture_output=True, text=True)
    if result.returncode != 0:
        report = synthesized.outdir / "validation-report.json"
        pytest.fail("synthesis failed\n" + result.stderr[-8000:] +
                    (report.read_text()[-8000:] if report.exists() else ""))
    for brand_id, brand in synthesized.brands.items():
        _run([INFRA_PY, "-m", "yutang_infra.sam", synthesized.template_path(brand_id),
              synthesized.expanded_path(brand_id), brand.region], cwd=INFRA, env=env)
        synthesized.lint[brand_id] = Background(
            [INFRA / ".venv" / "bin" / "cfn-lint", "--regions", brand.region, "--",
             synthesized.template_path(brand_id), synthesized.expanded_path(brand_id)],
            cwd=INFRA)
    yield synthesized
    for background in [synthesized.nag_control, *synthesized.lint.values()]:
        background.result()


def _of_type(template, resource_type):
    return {logical_id: resource for logical_id, resource in template["Resources"].items()
            if resource["Type"] == resource_type}


def _tables_by_name(template):
    return {resource["Properties"]["TableName"]: resource
            for resource in _of_type(template, "AWS::DynamoDB::Table").values()}


def _functions(expanded):
    return {resource["Properties"]["FunctionName"]: resource
            for resource in _of_type(expanded, "AWS::Lambda::Function").values()}


# -- linting and cdk-nag -----------------------------------------------------------------


@pytest.mark.parametrize("brand_id", BRANDS)
def test_cfn_lint_passes_on_the_template_and_on_its_sam_expansion(synthesized, brand_id):
    _check(synthesized.lint[brand_id].result())


def test_cdk_nag_found_nothing_unacknowledged_and_every_acknowledgment_says_why(synthesized):
    report = json.loads((synthesized.outdir / "validation-report.json").read_text())
    failures = [plugin for plugin in report.get("pluginReports", [])
                if plugin.get("conclusion") != "success"]
    assert failures == []
    acknowledged = {}
    for brand_id in BRANDS:
        metadata = json.loads(
            (synthesized.outdir / f"Yutang-{brand_id}.metadata.json").read_text())
        for path, entries in metadata.items():
            for entry in entries:
                if entry["type"] == "aws:cdk:acknowledged-rules":
                    acknowledged.update({(path, rule): reason
                                         for rule, reason in entry["data"].items()})
    assert acknowledged, "expected the role's wildcards to be acknowledged, with reasons"
    for (path, rule), reason in acknowledged.items():
        assert len(reason.strip()) >= 40, f"{path}: {rule} is acknowledged without a reason"


def test_cdk_nag_refuses_a_finding_nobody_acknowledged(synthesized):
    """The control: the App setup of the brands' stacks fails on an SNS topic open to
    plain HTTP."""
    assert synthesized.nag_control.result().returncode != 0
    report = json.loads((synthesized.nag_control_outdir / "validation-report.json").read_text())
    rules = {violation["ruleName"] for plugin in report["pluginReports"]
             for violation in plugin["violations"]}
    assert "AwsSolutions-SNS3" in rules


# -- tables --------------------------------------------------------------------------------


@pytest.mark.parametrize("brand_id", BRANDS)
def test_every_model_has_its_table_with_the_models_own_schema(synthesized, brand_id,
                                                              monkeypatch):
    template = synthesized.template(brand_id)
    tables = _tables_by_name(template)
    api_env = _functions(synthesized.expanded(brand_id))[f"yutang-{brand_id}-api"][
        "Properties"]["Environment"]["Variables"]
    monkeypatch.setenv("TABLE_PREFIX", api_env["TABLE_PREFIX"])
    models = yutang_app.models()
    assert len(tables) == len(models)
    for model in models:
        name = model.Meta.table_name    # the name the app computes with the stage's prefix
        assert name == f"yutang-{brand_id}-{model.Meta.table}"
        assert name in tables, f"{model.__name__}: no table {name}"
        properties = tables[name]["Properties"]
        schema = model._get_schema()
        assert _sorted(properties["KeySchema"]) == _sorted(schema["key_schema"])
        assert [key["KeyType"] for key in properties["KeySchema"]][0] == "HASH"
        assert _sorted(properties["AttributeDefinitions"]) == \
            _sorted(schema["attribute_definitions"])
        for cfn_key, schema_key in (("GlobalSecondaryIndexes", "global_secondary_indexes"),
                                    ("LocalSecondaryIndexes", "local_secondary_indexes")):
            assert _indexes(properties.get(cfn_key, [])) == _indexes(schema[schema_key], True)
        assert properties["BillingMode"] == "PAY_PER_REQUEST"


def _sorted(items):
    return sorted(items, key=lambda item: json.dumps(item, sort_keys=True))


def _indexes(indexes, from_schema=False):
    def one(index):
        if from_schema:
            return {"IndexName": index["index_name"], "KeySchema": _sorted(index["key_schema"]),
                    "Projection": index["projection"]}
        return {"IndexName": index["IndexName"], "KeySchema": _sorted(index["KeySchema"]),
                "Projection": index["Projection"]}
    return sorted((one(index) for index in indexes), key=lambda index: index["IndexName"])


@pytest.mark.parametrize("brand_id", BRANDS)
def test_every_table_keeps_its_data(synthesized, brand_id):
    for name, table in _tables_by_name(synthesized.template(brand_id)).items():
        properties = table["Properties"]
        assert properties["PointInTimeRecoverySpecification"] == \
            {"PointInTimeRecoveryEnabled": True}, name
        assert properties["DeletionProtectionEnabled"] is True, name
        assert table["DeletionPolicy"] == "Retain" and table["UpdateReplacePolicy"] == "Retain"


@pytest.mark.parametrize("brand_id", BRANDS)
def test_tables_expire_items_where_the_model_has_a_ttl_attribute(synthesized, brand_id):
    from pynamodb.attributes import TTLAttribute

    tables = _tables_by_name(synthesized.template(brand_id))
    with_ttl = 0
    for model in yutang_app.models():
        ttl = [attribute.attr_name for attribute in model.get_attributes().values()
               if isinstance(attribute, TTLAttribute)]
        spec = tables[f"yutang-{brand_id}-{model.Meta.table}"]["Properties"].get(
            "TimeToLiveSpecification")
        if ttl:
            with_ttl += 1
            assert spec == {"AttributeName": ttl[0], "Enabled": True}, model.__name__
        else:
            assert spec is None, model.__name__
    assert with_ttl > 0


# -- the app -------------------------------------------------------------------------------


def _schedules():
    from chalice.app import ScheduledEventConfig

    from app import app

    return {source.name: (source.schedule_expression.to_string(), source.handler_string)
            for source in app.event_sources if isinstance(source, ScheduledEventConfig)}


@pytest.mark.parametrize("brand_id", BRANDS)
def test_every_scheduled_function_has_its_eventbridge_rule(synthesized, brand_id):
    expanded = synthesized.expanded(brand_id)
    functions = {logical_id: resource["Properties"] for logical_id, resource
                 in _of_type(expanded, "AWS::Lambda::Function").items()}
    rules = {}
    for rule in _of_type(expanded, "AWS::Events::Rule").values():
        for target in rule["Properties"]["Targets"]:
            function = functions[target["Arn"]["Fn::GetAtt"][0]]
            rules[function["FunctionName"]] = (rule["Properties"]["ScheduleExpression"],
                                               function["Handler"])
    schedules = _schedules()
    assert schedules, "the app has scheduled functions"
    assert rules == {f"yutang-{brand_id}-{name}": schedule
                     for name, schedule in schedules.items()}


@pytest.mark.parametrize("brand_id", BRANDS)
def test_the_functions_get_the_brands_stage(synthesized, brand_id):
    brand = synthesized.brands[brand_id]
    functions = _functions(synthesized.expanded(brand_id))
    assert set(functions) == {f"yutang-{brand_id}-api"} | \
        {f"yutang-{brand_id}-{name}" for name in _schedules()}
    for name, function in functions.items():
        properties = function["Properties"]
        variables = properties["Environment"]["Variables"]
        assert variables["YUTANG_STAGE"] == variables["BRAND_ID"] == brand_id
        assert variables["TABLE_PREFIX"] == f"yutang-{brand_id}-"
        assert variables["WECHAT_APP_ID"] == brand.wechat_app_id
        assert variables["WECHAT_MCH_ID"] == brand.wechat_mch_id
        assert variables["PUBLIC_API_URL"] == f"https://{brand.domain}"
        assert {key: value for key, value in variables.items()
                if key.endswith("_SECRET_ID")} == \
            {key.upper() + "_SECRET_ID": value for key, value in brand.secrets.items()}
        # Secrets are named, never given: no value of one is in the template.
        assert not {"WECHAT_APP_SECRET", "WECHAT_MCH_KEY", "TOKEN_SECRET"} & set(variables)
        assert properties["TracingConfig"] == {"Mode": "Active"}, name
    stages = _of_type(synthesized.expanded(brand_id), "AWS::ApiGateway::Stage")
    assert [stage["Properties"].get("TracingEnabled") for stage in stages.values()] == [True]


def test_the_lambda_package_holds_the_app_and_nothing_of_infra(synthesized):
    zips = list(synthesized.outdir.glob("asset.*.zip"))
    assert zips
    for path in zips:
        names = zipfile.ZipFile(path).namelist()
        assert "app.py" in names and "chalicelib/config.py" in names
        tops = {name.split("/")[0] for name in names}
        assert not tops & {"infra", "tests", "devtools", "sandbox", "bench", "aws_cdk",
                           "cdk_nag", "cfnlint", "samtranslator", "jsii", "constructs"}


# -- isolation -----------------------------------------------------------------------------


def _render(value, resources):
    """A policy resource as text: a table's or log group's ARN by its name."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return [_render(item, resources) for item in value]
    (function, argument), = value.items()
    if function == "Ref":
        return "${%s}" % argument if argument.startswith("AWS::") else f"<ref {argument}>"
    if function == "Fn::GetAtt":
        logical_id, attribute = argument
        resource = resources[logical_id]
        properties = resource["Properties"]
        if resource["Type"] == "AWS::DynamoDB::Table" and attribute == "Arn":
            return f"arn:dynamodb:table/{properties['TableName']}"
        if resource["Type"] == "AWS::Logs::LogGroup" and attribute == "Arn":
            return f"arn:logs:log-group:{properties['LogGroupName']}:*"
        return f"<{logical_id}.{attribute}>"
    if function == "Fn::Join":
        separator, parts = argument
        return separator.join(_render(part, resources) for part in parts)
    raise AssertionError(f"unexpected {function} in a policy resource")


def _allowed(template):
    """(actions, resource) for every Allow statement of every IAM policy in the template."""
    resources = template["Resources"]
    documents = []
    for resource in resources.values():
        properties = resource.get("Properties", {})
        if resource["Type"] == "AWS::IAM::Role":
            documents += [policy["PolicyDocument"] for policy in properties.get("Policies", [])]
            assert not properties.get("ManagedPolicyArns"), "no managed policies"
        elif resource["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            documents.append(properties["PolicyDocument"])
    allowed = []
    for document in documents:
        for statement in document["Statement"]:
            assert statement["Effect"] == "Allow"
            actions = statement["Action"]
            actions = [actions] if isinstance(actions, str) else actions
            targets = statement["Resource"]
            targets = targets if isinstance(targets, list) else [targets]
            allowed += [(tuple(actions), _render(target, resources)) for target in targets]
    return allowed


@pytest.mark.parametrize("brand_id,other_id", [BRANDS, tuple(reversed(BRANDS))])
def test_a_brands_role_reaches_only_that_brands_tables_and_secrets(synthesized, brand_id,
                                                                   other_id):
    expanded = synthesized.expanded(brand_id)
    roles = _of_type(expanded, "AWS::IAM::Role")
    assert len(roles) == 1
    (role_id,) = roles
    for function in _of_type(expanded, "AWS::Lambda::Function").values():
        assert function["Properties"]["Role"] == {"Fn::GetAtt": [role_id, "Arn"]}
    own = (f"table/yutang-{brand_id}-", f"log-group:/aws/lambda/yutang-{brand_id}-",
           f":secret:yutang/{brand_id}/")
    other = (f"yutang-{other_id}-", f"yutang/{other_id}/")
    reached_tables, reached_secrets = set(), set()
    for actions, resource in _allowed(expanded):
        assert not any(action.endswith("*") for action in actions), actions
        assert not any(other_name in resource for other_name in other), resource
        if resource == "*":
            assert all(action.startswith("xray:") for action in actions), actions
            continue
        assert any(marker in resource for marker in own), resource
        assert "<" not in resource, resource
        if "table/" in resource:
            reached_tables.add(resource.split("table/")[1].split("/")[0])
        if ":secret:" in resource:
            reached_secrets.add(resource.split(":secret:")[1].removesuffix("-??????"))
    # The check above is not vacuous: the role does reach every table and secret of its own.
    assert reached_tables == set(_tables_by_name(expanded))
    assert reached_secrets == set(synthesized.brands[brand_id].secrets.values())
    # And nothing anywhere in the brand's stack names the other brand's resources.
    text = synthesized.template_path(brand_id).read_text()
    assert f"yutang-{other_id}-" not in text and f"yutang/{other_id}/" not in text


# -- alarms --------------------------------------------------------------------------------


@pytest.mark.parametrize("brand_id", BRANDS)
def test_rejected_pay_notifies_raise_an_alarm_by_email(synthesized, brand_id):
    template = synthesized.template(brand_id)
    resources = template["Resources"]
    filters = [resource["Properties"]
               for resource in _of_type(template, "AWS::Logs::MetricFilter").values()
               if resource["Properties"]["FilterPattern"] == NOTIFY_FILTER]
    assert len(filters) == 1
    log_group = resources[filters[0]["LogGroupName"]["Ref"]]["Properties"]["LogGroupName"]
    assert log_group == f"/aws/lambda/yutang-{brand_id}-api"   # the API handler's
    (transformation,) = filters[0]["MetricTransformations"]
    alarms = [resource["Properties"]
              for resource in _of_type(template, "AWS::CloudWatch::Alarm").values()
              if resource["Properties"].get("MetricName") == transformation["MetricName"] and
              resource["Properties"].get("Namespace") == transformation["MetricNamespace"]]
    assert len(alarms) == 1
    (topic_id,) = _of_type(template, "AWS::SNS::Topic")
    assert {"Ref": topic_id} in alarms[0]["AlarmActions"]
    subscriptions = [resource["Properties"] for resource
                     in _of_type(template, "AWS::SNS::Subscription").values()]
    assert subscriptions == [{"Protocol": "email", "TopicArn": {"Ref": topic_id},
                              "Endpoint": synthesized.brands[brand_id].alarm_email}]


def _alarm_metrics(alarm):
    """(namespace, metric, dimensions) of every metric an alarm reads."""
    properties = alarm["Properties"]
    if "MetricName" in properties:
        found = [(properties["Namespace"], properties["MetricName"],
                  properties.get("Dimensions", []))]
    else:
        found = [(query["MetricStat"]["Metric"]["Namespace"],
                  query["MetricStat"]["Metric"]["MetricName"],
                  query["MetricStat"]["Metric"].get("Dimensions", []))
                 for query in properties["Metrics"] if "MetricStat" in query]
    return [(namespace, name, {d["Name"]: d["Value"] for d in dimensions})
            for namespace, name, dimensions in found]


@pytest.mark.parametrize("brand_id", BRANDS)
def test_api_functions_and_tables_have_their_alarms(synthesized, brand_id):
    template = synthesized.template(brand_id)
    (topic_id,) = _of_type(template, "AWS::SNS::Topic")
    watched = set()
    for alarm in _of_type(template, "AWS::CloudWatch::Alarm").values():
        assert {"Ref": topic_id} in alarm["Properties"]["AlarmActions"]
        for namespace, name, dimensions in _alarm_metrics(alarm):
            watched.add((namespace, name, tuple(sorted(dimensions.items()))))
    api = ("AWS/ApiGateway", (("ApiName", f"yutang-{brand_id}"), ("Stage", "api")))
    assert (api[0], "5XXError", api[1]) in watched and (api[0], "Count", api[1]) in watched
    (rest_api,) = _of_type(synthesized.expanded(brand_id), "AWS::ApiGateway::RestApi").values()
    assert rest_api["Properties"]["Name"] == f"yutang-{brand_id}"
    for function in _functions(synthesized.expanded(brand_id)):
        for metric in ("Errors", "Throttles"):
            assert ("AWS/Lambda", metric, (("FunctionName", function),)) in watched
    for table in _tables_by_name(template):
        for metric in ("ReadThrottleEvents", "WriteThrottleEvents"):
            assert ("AWS/DynamoDB", metric, (("TableName", table),)) in watched


# -- brand configs ---------------------------------------------------------------------------


def test_every_brand_config_loads():
    assert set(BRANDS) <= set(brand_configs.brand_ids())
    for brand_id in brand_configs.brand_ids():
        brand = brand_configs.load(brand_id)
        yutang_app.stage_config(brand, "arn:aws:iam::123456789012:role/app")


def _raw(**changes):
    raw = json.loads((brand_configs.BRANDS_DIR / "demo.json").read_text())
    raw.update(changes)
    return raw


@pytest.mark.parametrize("changes,message", [
    ({"secrets": {"wechat_app_secret": "yutang/acme/wechat-app-secret",
                  "wechat_mch_key": "yutang/demo/wechat-mch-key",
                  "token_secret": "yutang/demo/token-secret"}}, "must start with 'yutang/demo/'"),
    ({"domain": "https://api.demo.example.com/"}, "not a host name"),
    ({"brand": "Demo"}, "brand must be"),
    ({"alarm_email": None}, "missing alarm_email"),
    ({"account": "12345"}, "12-digit"),
    ({"log_retention_days": 100}, "log_retention_days"),
    ({"colour": "red"}, "unknown keys colour"),
])
def test_a_wrong_brand_config_is_refused(changes, message):
    with pytest.raises(brand_configs.BrandError, match=message):
        brand_configs.parse(_raw(**changes), expected_id="demo")


def test_a_brand_config_must_name_every_secret_the_template_stage_reads():
    raw = _raw(secrets={"wechat_app_secret": "yutang/demo/wechat-app-secret"})
    brand = brand_configs.parse(raw, expected_id="demo")
    with pytest.raises(ValueError, match="secrets must name exactly"):
        yutang_app.stage_config(brand, "arn:aws:iam::123456789012:role/app")

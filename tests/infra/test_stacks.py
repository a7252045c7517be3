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
        view_type = getattr(model.Meta, "stream_view_type", None)
        assert properties.get("StreamSpecification") == (
            {"StreamViewType": view_type} if view_type else None), model.__name__


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


def _streams():
    """{stream function: (the table whose stream feeds it, its handler)}."""
    from chalice.app import DynamoDBEventConfig

    from app import app
    from chalicelib.db.streams import table_of

    return {source.name: (table_of(source.stream_arn), source.handler_string)
            for source in app.event_sources if isinstance(source, DynamoDBEventConfig)}


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
        {f"yutang-{brand_id}-{name}" for name in [*_schedules(), *_streams()]}
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


# -- in front of the API: throttle, access logs, gateway responses, WAF ----------------------


def _stage(expanded):
    (stage,) = _of_type(expanded, "AWS::ApiGateway::Stage").values()
    return stage["Properties"]


@pytest.mark.parametrize("brand_id", BRANDS)
def test_the_stage_throttles_every_route_at_the_brands_rate_and_burst(synthesized, brand_id):
    brand = synthesized.brands[brand_id]
    (settings,) = _stage(synthesized.expanded(brand_id))["MethodSettings"]
    assert settings["ResourcePath"] == "/*" and settings["HttpMethod"] == "*"
    assert (settings["ThrottlingRateLimit"], settings["ThrottlingBurstLimit"]) == \
        (brand.throttle_rate_per_s, brand.throttle_burst)
    assert settings["LoggingLevel"] == "OFF" and settings["DataTraceEnabled"] is False


def test_the_default_throttle_fits_a_flash_sales_peak_and_the_brand_file_can_change_it(
        synthesized):
    demo, acme = synthesized.brands["demo"], synthesized.brands["acme"]
    # A sale is sized for 2,000 orders a second by default (flash/sales.py, README); each
    # order comes with a read or two and a payment.
    assert demo.throttle_rate_per_s >= 2 * 2_000 and demo.throttle_burst >= 2_000
    assert (demo.throttle_rate_per_s, demo.throttle_burst) == \
        (brand_configs.THROTTLE_RATE_PER_S, brand_configs.THROTTLE_BURST)
    raw = json.loads((brand_configs.BRANDS_DIR / "acme.json").read_text())
    assert (acme.throttle_rate_per_s, acme.throttle_burst, acme.waf_ip_requests_per_5min) == \
        (raw["throttle_rate_per_s"], raw["throttle_burst"], raw["waf_ip_requests_per_5min"])
    assert (acme.throttle_rate_per_s, acme.throttle_burst) != \
        (demo.throttle_rate_per_s, demo.throttle_burst)


@pytest.mark.parametrize("brand_id", BRANDS)
def test_access_logs_are_json_lines_without_headers_or_query_strings(synthesized, brand_id):
    expanded = synthesized.expanded(brand_id)
    setting = _stage(expanded)["AccessLogSetting"]
    logical_id, attribute = setting["DestinationArn"]["Fn::GetAtt"]
    group = expanded["Resources"][logical_id]["Properties"]
    assert attribute == "Arn"
    assert group["LogGroupName"] == f"/aws/apigateway/yutang-{brand_id}"
    assert group["RetentionInDays"] == synthesized.brands[brand_id].log_retention_days
    line = json.loads(setting["Format"])
    assert {key: line[key] for key in ("request_id", "ip", "route", "status", "latency_ms")} \
        == {"request_id": "$context.requestId", "ip": "$context.identity.sourceIp",
            "route": "$context.resourcePath", "status": "$context.status",
            "latency_ms": "$context.responseLatency"}
    # The route template, never the path; no header, query string, body or authorizer value.
    for value in line.values():
        assert value.startswith("$context.") and value.count("$") == 1, value
        assert not value.startswith(("$context.path", "$context.authorizer",
                                     "$context.requestOverride")), value
        assert "header" not in value.lower() and "querystring" not in value.lower(), value


@pytest.mark.parametrize("brand_id", BRANDS)
def test_api_gateway_may_write_the_access_logs(synthesized, brand_id):
    """API Gateway logs through the role of its account setting (one per account and
    region): the stack sets it before the API exists."""
    expanded = synthesized.expanded(brand_id)
    resources = expanded["Resources"]
    (account_id, account), = _of_type(expanded, "AWS::ApiGateway::Account").items()
    role_id = account["Properties"]["CloudWatchRoleArn"]["Fn::GetAtt"][0]
    role = resources[role_id]
    assert [statement["Principal"] for statement in
            role["Properties"]["AssumeRolePolicyDocument"]["Statement"]] == \
        [{"Service": "apigateway.amazonaws.com"}]
    assert role["DeletionPolicy"] == account["DeletionPolicy"] == "Retain"
    for actions, resource in _allowed(expanded, role_id):
        assert all(action.startswith("logs:") for action in actions), actions
        assert resource.endswith(":log-group:*"), resource
    (rest_api_id,) = _of_type(expanded, "AWS::ApiGateway::RestApi")
    assert account_id in resources[rest_api_id].get("DependsOn", [])


def _template_body(template):
    """A gateway response's body as the client gets it (API Gateway's message, if used, is a
    JSON string)."""
    return json.loads(template.replace("$context.error.messageString", '"Forbidden"'))


@pytest.mark.parametrize("brand_id", BRANDS)
def test_api_gateways_own_answers_are_in_the_error_shape(synthesized, brand_id):
    from chalicelib.errors import CHALICE_ERROR_CODES, STATUS_BY_CODE

    (rest_api,) = _of_type(synthesized.expanded(brand_id), "AWS::ApiGateway::RestApi").values()
    responses = rest_api["Properties"]["Body"]["x-amazon-apigateway-gateway-responses"]
    # An unknown route (API Gateway's "Missing Authentication Token") is a 404 not_found.
    unknown = responses["MISSING_AUTHENTICATION_TOKEN"]
    assert unknown["statusCode"] == "404"
    assert _template_body(unknown["responseTemplates"]["application/json"])["error"]["code"] \
        == "not_found"
    assert {"DEFAULT_4XX", "DEFAULT_5XX", "THROTTLED", "WAF_FILTERED",
            "INTEGRATION_TIMEOUT"} <= set(responses)
    known = set(STATUS_BY_CODE) | set(CHALICE_ERROR_CODES.values())
    for response_type, response in responses.items():
        (content_type, template), = response["responseTemplates"].items()
        assert content_type == "application/json"
        body = _template_body(template)
        assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}
        code = body["error"]["code"]
        assert code in known, f"{response_type}: {code} is not one of the app's codes"
        if "statusCode" in response and code in STATUS_BY_CODE:
            assert int(response["statusCode"]) == STATUS_BY_CODE[code], response_type
    assert responses["THROTTLED"]["statusCode"] == "429"
    assert "statusCode" not in responses["DEFAULT_4XX"]   # keeps API Gateway's own status


def _web_acl(template):
    (web_acl_id, web_acl), = _of_type(template, "AWS::WAFv2::WebACL").items()
    return web_acl_id, web_acl["Properties"]


def _exempt_paths(statement):
    """The paths a NOT(path == ...) scope-down statement leaves out."""
    inner = statement["NotStatement"]["Statement"]
    matches = inner["OrStatement"]["Statements"] if "OrStatement" in inner else [inner]
    paths = set()
    for match in matches:
        byte_match = match["ByteMatchStatement"]
        assert byte_match["FieldToMatch"] == {"UriPath": {}}
        assert byte_match["PositionalConstraint"] == "EXACTLY"
        paths.add(byte_match["SearchString"])
    return paths


@pytest.mark.parametrize("brand_id", BRANDS)
def test_a_waf_guards_the_stage_with_a_per_ip_rate_rule_and_managed_rules(synthesized,
                                                                         brand_id):
    template = synthesized.template(brand_id)
    brand = synthesized.brands[brand_id]
    web_acl_id, web_acl = _web_acl(template)
    assert web_acl["Scope"] == "REGIONAL" and web_acl["DefaultAction"] == {"Allow": {}}
    # Associated with the API's stage (the stage SAM makes; the reference waits for it).
    (association,) = _of_type(template, "AWS::WAFv2::WebACLAssociation").values()
    assert association["Properties"]["WebACLArn"] == {"Fn::GetAtt": [web_acl_id, "Arn"]}
    parts = association["Properties"]["ResourceArn"]["Fn::Join"][1]
    assert {"Ref": "RestAPI"} in parts and {"Ref": "RestAPI.Stage"} in parts
    assert ":apigateway:" in "".join(part for part in parts if isinstance(part, str))
    (expanded_association,) = _of_type(synthesized.expanded(brand_id),
                                       "AWS::WAFv2::WebACLAssociation").values()
    assert {"Ref": "RestAPIapiStage"} in \
        expanded_association["Properties"]["ResourceArn"]["Fn::Join"][1]
    rules = {rule["Name"]: rule for rule in web_acl["Rules"]}
    # The per-IP rule: the brand's limit per 5 minutes, 429 in the error shape.
    rate = rules["ip-rate"]
    statement = rate["Statement"]["RateBasedStatement"]
    assert statement["AggregateKeyType"] == "IP"
    assert statement["Limit"] == brand.waf_ip_requests_per_5min
    assert statement.get("EvaluationWindowSec", 300) == 300
    response = rate["Action"]["Block"]["CustomResponse"]
    assert response["ResponseCode"] == 429
    body = json.loads(web_acl["CustomResponseBodies"][response["CustomResponseBodyKey"]]
                      ["Content"])
    assert body["error"]["code"] == "too_many_requests"
    # WeChat Pay's notifies (a few WeChat servers, a whole sale's payments) are not limited
    # per IP, nor judged by the common rules; every other route is.
    callbacks = set(yutang_app.callback_paths(yutang_app.chalice_app()))
    assert callbacks == {"/wechat/pay/notify", "/wechat/pay/refund-notify"}
    exempt = callbacks | {"/api" + path for path in callbacks}
    assert _exempt_paths(statement["ScopeDownStatement"]) == exempt
    groups = {rule["Statement"]["ManagedRuleGroupStatement"]["Name"]: rule
              for rule in web_acl["Rules"] if "ManagedRuleGroupStatement" in rule["Statement"]}
    assert set(groups) == {"AWSManagedRulesCommonRuleSet",
                           "AWSManagedRulesKnownBadInputsRuleSet"}
    common = groups["AWSManagedRulesCommonRuleSet"]["Statement"]["ManagedRuleGroupStatement"]
    assert _exempt_paths(common["ScopeDownStatement"]) == exempt
    assert common["RuleActionOverrides"] == [
        {"Name": "SizeRestrictions_BODY", "ActionToUse": {"Count": {}}}]
    for rule in groups.values():
        assert rule["OverrideAction"] == {"None": {}}
    assert rate["Priority"] < min(rule["Priority"] for rule in groups.values())
    # Metrics for the web ACL and each rule; no sampled requests (they keep headers).
    for visibility in [web_acl["VisibilityConfig"]] + \
            [rule["VisibilityConfig"] for rule in web_acl["Rules"]]:
        assert visibility["CloudWatchMetricsEnabled"] is True
        assert visibility["SampledRequestsEnabled"] is False


@pytest.mark.parametrize("brand_id", BRANDS)
def test_the_waf_logs_what_it_blocks_without_tokens_or_query_strings(synthesized, brand_id):
    template = synthesized.template(brand_id)
    web_acl_id, _ = _web_acl(template)
    (logging,) = _of_type(template, "AWS::WAFv2::LoggingConfiguration").values()
    properties = logging["Properties"]
    assert properties["ResourceArn"] == {"Fn::GetAtt": [web_acl_id, "Arn"]}
    name = f"aws-waf-logs-yutang-{brand_id}"
    (destination,) = properties["LogDestinationConfigs"]
    assert "".join(part for part in destination["Fn::Join"][1] if isinstance(part, str)) \
        .endswith(f":log-group:{name}")
    groups = [group["Properties"] for group in _of_type(template, "AWS::Logs::LogGroup").values()
              if group["Properties"]["LogGroupName"] == name]
    assert [group["RetentionInDays"] for group in groups] == \
        [synthesized.brands[brand_id].log_retention_days]
    redacted = properties["RedactedFields"]
    assert {"SingleHeader": {"Name": "authorization"}} in redacted
    assert {"QueryString": {}} in redacted
    assert properties["LoggingFilter"] == {"DefaultBehavior": "DROP", "Filters": [{
        "Behavior": "KEEP", "Requirement": "MEETS_ANY",
        "Conditions": [{"ActionCondition": {"Action": "BLOCK"}}]}]}


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
        if resource["Type"] == "AWS::DynamoDB::Table" and attribute == "StreamArn":
            return f"arn:dynamodb:table/{properties['TableName']}/stream/latest"
        if resource["Type"] == "AWS::SQS::Queue" and attribute == "Arn":
            return f"arn:sqs:{properties['QueueName']}"
        if resource["Type"] == "AWS::Logs::LogGroup" and attribute == "Arn":
            return f"arn:logs:log-group:{properties['LogGroupName']}:*"
        if resource["Type"] == "AWS::S3::Bucket" and attribute == "Arn":
            return f"arn:s3:::{_render(properties['BucketName'], resources)}"
        return f"<{logical_id}.{attribute}>"
    if function == "Fn::Join":
        separator, parts = argument
        return separator.join(_render(part, resources) for part in parts)
    raise AssertionError(f"unexpected {function} in a policy resource")


def _documents(resources, only=None):
    """The policy documents of the template's IAM roles and policies (of the role `only`)."""
    documents = []
    for logical_id, resource in resources.items():
        properties = resource.get("Properties", {})
        if resource["Type"] == "AWS::IAM::Role" and only in (None, logical_id):
            documents += [policy["PolicyDocument"] for policy in properties.get("Policies", [])]
            assert not properties.get("ManagedPolicyArns"), "no managed policies"
        elif resource["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy") and \
                only is None:
            documents.append(properties["PolicyDocument"])
    return documents


def _allowed(template, role_id=None):
    """(actions, resource) for every Allow statement of every IAM policy in the template (or
    of one role's)."""
    resources = template["Resources"]
    allowed = []
    for document in _documents(resources, role_id):
        for statement in document["Statement"]:
            assert statement["Effect"] == "Allow"
            actions = statement["Action"]
            actions = [actions] if isinstance(actions, str) else actions
            targets = statement["Resource"]
            targets = targets if isinstance(targets, list) else [targets]
            allowed += [(tuple(actions), _render(target, resources)) for target in targets]
    return allowed


def _function_roles(expanded):
    """Function name -> the logical id of its role."""
    roles = {}
    for function in _of_type(expanded, "AWS::Lambda::Function").values():
        role = function["Properties"]["Role"]
        assert set(role) == {"Fn::GetAtt"} and role["Fn::GetAtt"][1] == "Arn", role
        roles[function["Properties"]["FunctionName"]] = role["Fn::GetAtt"][0]
    return roles


def _grants(expanded, role_id):
    """What one role allows: {table: actions}, {(table, "index"): actions}, secret names, log
    groups, and the actions granted on '*'."""
    tables, secrets, log_groups, anywhere = {}, set(), set(), set()
    for actions, resource in _allowed(expanded, role_id):
        if resource == "*":
            anywhere.update(actions)
        elif "table/" in resource:
            table = resource.split("table/")[1]
            key = table
            for kind in ("index", "stream"):
                if f"/{kind}/" in table:
                    key = (table.split("/")[0], kind)
            tables.setdefault(key, set()).update(actions)
        elif ":secret:" in resource:
            secrets.add(resource.split(":secret:")[1].removesuffix("-??????"))
        elif ":log-group:" in resource:
            log_groups.add(resource.split(":log-group:")[1].removesuffix(":*"))
        elif ":s3:::" in resource or ":sqs:" in resource:
            continue  # buckets: _bucket_grants; the stream failures queue: _queue_grants
        else:
            raise AssertionError(f"{role_id}: unexpected resource {resource}")
    return tables, secrets, log_groups, anywhere


@pytest.mark.parametrize("brand_id,other_id", [BRANDS, tuple(reversed(BRANDS))])
def test_a_brands_roles_reach_only_that_brands_tables_and_secrets(synthesized, brand_id,
                                                                  other_id):
    expanded = synthesized.expanded(brand_id)
    roles = _function_roles(expanded)
    own = (f"table/yutang-{brand_id}-", f"log-group:/aws/lambda/yutang-{brand_id}-",
           f":secret:yutang/{brand_id}/", f":s3:::yutang-{brand_id}-",
           f":sqs:yutang-{brand_id}-")
    other = (f"yutang-{other_id}-", f"yutang/{other_id}/")
    reached_tables, reached_secrets = set(), set()
    for role_id in set(roles.values()):
        for actions, resource in _allowed(expanded, role_id):
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
    # The check above is not vacuous: the roles do reach every table and secret of their own.
    assert reached_tables == set(_tables_by_name(expanded))
    assert reached_secrets == set(synthesized.brands[brand_id].secrets.values())
    # And nothing anywhere in the brand's stack names the other brand's resources.
    text = synthesized.template_path(brand_id).read_text()
    assert f"yutang-{other_id}-" not in text and f"yutang/{other_id}/" not in text


@pytest.mark.parametrize("brand_id", BRANDS)
def test_no_policy_in_the_stack_allows_scan_or_a_wildcard_action(synthesized, brand_id):
    allowed = _allowed(synthesized.expanded(brand_id))
    assert allowed
    for actions, resource in allowed:
        assert "dynamodb:Scan" not in actions, resource
        assert not any(action == "*" or action.endswith(":*") for action in actions), actions


@pytest.mark.parametrize("brand_id", BRANDS)
def test_each_function_runs_under_a_role_of_its_own(synthesized, brand_id):
    expanded = synthesized.expanded(brand_id)
    roles = _function_roles(expanded)
    assert len(set(roles.values())) == len(roles) == 1 + len(_schedules()) + len(_streams())
    resources = expanded["Resources"]
    for function_name, role_id in roles.items():
        trust = resources[role_id]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
        assert [statement["Principal"] for statement in trust] == \
            [{"Service": "lambda.amazonaws.com"}], function_name
        # Each writes only its own log group.
        _, _, log_groups, _ = _grants(expanded, role_id)
        assert log_groups == {f"/aws/lambda/{function_name}"}, function_name


def _job(brand_id, name):
    return f"yutang-{brand_id}-{name}"


@pytest.mark.parametrize("brand_id", BRANDS)
def test_the_api_and_the_jobs_are_allowed_what_their_code_uses(synthesized, brand_id):
    expanded = synthesized.expanded(brand_id)
    brand = synthesized.brands[brand_id]
    roles = _function_roles(expanded)
    grants = {name: _grants(expanded, role_id) for name, role_id in roles.items()}
    every_table = {name.removeprefix(brand.table_prefix)
                   for name in _tables_by_name(expanded)}

    def tables(name):
        return {table.removeprefix(brand.table_prefix)
                for table in grants[_job(brand_id, name)][0] if isinstance(table, str)}

    def secrets(name):
        return {secret.removeprefix(brand.secret_prefix)
                for secret in grants[_job(brand_id, name)][1]}

    # The API serves every route: every table, every secret; and its health check describes
    # a table, which no job does.
    assert tables("api") == every_table
    assert secrets("api") == {"wechat-app-secret", "wechat-mch-key", "wechat-mch-cert",
                              "wechat-mch-cert-key", "token-secret"}
    for name, (table_grants, _, _, anywhere) in grants.items():
        described = {table for table, actions in table_grants.items()
                     if "dynamodb:DescribeTable" in actions}
        assert bool(described) == name.endswith("-api"), name
        assert anywhere == {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}, name
    # Each role is what its function's code reaches (infra/yutang_infra/reach.py), table by
    # table, index by index, secret by secret.
    from yutang_infra.reach import reach

    specs = {spec.name: spec for spec in yutang_app.function_specs(yutang_app.chalice_app())}
    indexed = {spec.table for spec in yutang_app.table_specs()
               if spec.global_indexes or spec.local_indexes}
    for name, spec in specs.items():
        reached = reach(spec.entries, yutang_app.models(), brand.secrets)
        table_grants = grants[_job(brand_id, name)][0]
        assert tables(name) == set(reached.tables), name
        assert {table.removeprefix(brand.table_prefix) for table, kind in
                (key for key in table_grants if isinstance(key, tuple)) if kind == "index"} == \
            set(reached.tables) & indexed, name
        assert secrets(name) == {brand.secrets[key].removeprefix(brand.secret_prefix)
                                 for key in reached.secrets}, name
    # And it separates them. Notifications, the sender of subscribe messages, has its queue,
    # WeChat's access token and app secret, and nothing of orders, refunds or stock.
    assert {"notifications", "send-credits", "wechat-tokens"} <= tables("notifications")
    assert "wechat-app-secret" in secrets("notifications")
    assert not {"orders", "refunds", "stock-shards", "store-stock"} & tables("notifications")
    # Orders and refunds: WeChat Pay (reconciliation, refund queries), the stock they return.
    for job in ("orders-minute", "refunds"):
        assert {"orders", "refunds", "store-stock"} <= tables(job)
        assert {"wechat-mch-key", "wechat-mch-cert", "wechat-mch-cert-key"} <= secrets(job)
    # Most jobs lack some table or secret of the API's (the rest of the order pipeline's).
    narrower = [job for job in _schedules()
                if tables(job) < every_table or secrets(job) < secrets("api")]
    assert len(narrower) * 2 > len(_schedules()), narrower


def _grants_on(expanded, role_id, service_arn_part):
    """What one role allows on one service's resources (":s3:::", ":sqs:"):
    {resource ARN: actions}."""
    granted = {}
    for actions, resource in _allowed(expanded, role_id):
        if service_arn_part in resource:
            granted.setdefault(resource, set()).update(actions)
    return granted


def _bucket_grants(expanded, role_id):
    """What one role allows on buckets: {bucket ARN or its objects' ARN: actions}."""
    return _grants_on(expanded, role_id, ":s3:::")


def _buckets_by_name(template):
    """{bucket name as written (the account as ${AWS::AccountId}): (logical id, bucket)}."""
    return {_render(bucket["Properties"]["BucketName"], template["Resources"]):
            (logical_id, bucket)
            for logical_id, bucket in _of_type(template, "AWS::S3::Bucket").items()}


def _assert_private_and_tls_only(template, logical_id):
    properties = template["Resources"][logical_id]["Properties"]
    assert properties["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True, "BlockPublicPolicy": True, "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True}
    assert properties["BucketEncryption"] == {"ServerSideEncryptionConfiguration": [
        {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]}
    policy, = [policy for policy in _of_type(template, "AWS::S3::BucketPolicy").values()
               if policy["Properties"]["Bucket"] == {"Ref": logical_id}]
    denied = policy["Properties"]["PolicyDocument"]["Statement"]
    assert any(statement["Effect"] == "Deny" and statement["Condition"] == {
        "Bool": {"aws:SecureTransport": "false"}} for statement in denied)


@pytest.mark.parametrize("brand_id", BRANDS)
def test_code_images_live_in_the_brands_private_bucket_which_only_their_code_reaches(
        synthesized, brand_id):
    expanded = synthesized.expanded(brand_id)
    buckets = _buckets_by_name(expanded)
    name = f"yutang-{brand_id}-code-images-${{AWS::AccountId}}"
    # The code images' bucket, and the analysts' exports (test_the_exports_bucket_...).
    assert set(buckets) == {name, f"yutang-{brand_id}-exports-${{AWS::AccountId}}"}
    logical_id, bucket = buckets[name]
    _assert_private_and_tls_only(expanded, logical_id)
    assert bucket["DeletionPolicy"] == "Retain"
    roles = _function_roles(expanded)
    functions = _functions(expanded)
    for function_name, role_id in roles.items():
        grants = _bucket_grants(expanded, role_id)
        variables = functions[function_name]["Properties"]["Environment"]["Variables"]
        if function_name == f"yutang-{brand_id}-api":  # the route that serves a link's code
            assert grants == {f"arn:s3:::{name}": {"s3:ListBucket"},
                              f"arn:s3:::{name}/*": {"s3:GetObject", "s3:PutObject"}}
            assert variables["CODE_IMAGES_BUCKET"] == {"Ref": logical_id}
        else:
            assert grants == {} and "CODE_IMAGES_BUCKET" not in variables, function_name


def _resolved(value, resources, brand):
    """A policy value as IAM will store it: ARNs written out in the brand's region."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return [_resolved(item, resources, brand) for item in value]
    if set(value) == {"Ref"}:
        return {"AWS::Partition": "aws-cn", "AWS::Region": brand.region,
                "AWS::AccountId": "111122223333"}[value["Ref"]]
    if set(value) == {"Fn::GetAtt"}:
        properties = resources[value["Fn::GetAtt"][0]]["Properties"]
        arn = f"arn:aws-cn:{{}}:{brand.region}:111122223333:"
        if "TableName" in properties and value["Fn::GetAtt"][1] == "StreamArn":
            return arn.format("dynamodb") + "table/" + properties["TableName"] + \
                "/stream/2026-01-01T00:00:00.000"
        if "TableName" in properties:
            return arn.format("dynamodb") + "table/" + properties["TableName"]
        if "QueueName" in properties:
            return arn.format("sqs") + properties["QueueName"]
        if "BucketName" in properties:
            return "arn:aws-cn:s3:::" + _resolved(properties["BucketName"], resources, brand)
        return arn.format("logs") + "log-group:" + properties["LogGroupName"] + ":*"
    if set(value) == {"Fn::Join"}:
        separator, parts = value["Fn::Join"]
        return separator.join(_resolved(part, resources, brand) for part in parts)
    return {key: _resolved(item, resources, brand) for key, item in value.items()}


@pytest.mark.parametrize("brand_id", BRANDS)
def test_every_role_fits_iams_limit_even_for_the_longest_brand_id(synthesized, brand_id):
    """IAM takes at most 10,240 characters of inline policy per role (whitespace aside). The
    API's role names every table: a brand id of 22 characters, the longest allowed, and the
    tables to come must fit (past the limit, name the tables by their common prefix)."""
    expanded = synthesized.expanded(brand_id)
    resources, brand = expanded["Resources"], synthesized.brands[brand_id]
    longest = 22
    for role_id in set(_function_roles(expanded).values()):
        size = 0
        for policy in resources[role_id]["Properties"]["Policies"]:
            text = json.dumps(_resolved(policy["PolicyDocument"], resources, brand),
                              separators=(",", ":"))
            size += len(policy["PolicyName"]) + len(text) + \
                text.count(brand_id) * (longest - len(brand_id))
        assert size <= 10_240, f"{role_id}: {size} characters of inline policy"


@pytest.mark.parametrize("brand_id", BRANDS)
def test_each_job_has_a_small_reserved_concurrency_and_the_api_the_rest(synthesized,
                                                                       brand_id):
    functions = _functions(synthesized.expanded(brand_id))
    reserved = {name: function["Properties"].get("ReservedConcurrentExecutions")
                for name, function in functions.items()}
    assert reserved.pop(f"yutang-{brand_id}-api") is None   # the unreserved pool
    # A stream function runs a batch per shard at a time: as many as the table has shards.
    for name in _streams():
        assert reserved.pop(_job(brand_id, name)) is None
    assert set(reserved) == {_job(brand_id, name) for name in _schedules()}
    assert set(reserved.values()) == {2}, reserved
    # Lambda keeps at least 100 of the account's 1,000 (its default) unreserved.
    assert sum(reserved.values()) <= 100


# -- streams ------------------------------------------------------------------------------


@pytest.mark.parametrize("brand_id", BRANDS)
def test_each_stream_function_is_fed_by_its_tables_stream_and_gives_up_on_a_batch_in_bounds(
        synthesized, brand_id):
    from chalicelib.jobs import streams

    expanded = synthesized.expanded(brand_id)
    functions = {logical_id: resource["Properties"] for logical_id, resource
                 in _of_type(expanded, "AWS::Lambda::Function").items()}
    tables = {logical_id: resource["Properties"] for logical_id, resource
              in _of_type(expanded, "AWS::DynamoDB::Table").items()}
    (queue_id, queue), = _of_type(expanded, "AWS::SQS::Queue").items()
    delivery = yutang_app.stream_delivery()
    fed = {}
    for mapping in _of_type(expanded, "AWS::Lambda::EventSourceMapping").values():
        properties = mapping["Properties"]
        function = functions[properties["FunctionName"]["Ref"]]
        table_id, attribute = properties["EventSourceArn"]["Fn::GetAtt"]
        assert attribute == "StreamArn" and tables[table_id]["StreamSpecification"] == \
            {"StreamViewType": "NEW_AND_OLD_IMAGES"}
        fed[function["FunctionName"]] = (tables[table_id]["TableName"], function["Handler"])
        # From the oldest record the stream holds: nothing written before the mapping is lost.
        assert properties["StartingPosition"] == "TRIM_HORIZON"
        if function["FunctionName"] == _job(brand_id, "figures-stream"):
            # The figures gather a window's orders into one batch (chalicelib/jobs/streams.py).
            assert (properties["BatchSize"], properties["MaximumBatchingWindowInSeconds"]) \
                == (streams.FIGURES_BATCH_SIZE, streams.FIGURES_WINDOW_S)
        else:
            assert properties["BatchSize"] == delivery.batch_size
            assert not properties.get("MaximumBatchingWindowInSeconds")
        # A batch that fails is halved until the record at fault is alone, retried a bounded
        # number of times, for a bounded age, then sent to the queue (and its alarm).
        assert properties["BisectBatchOnFunctionError"] is True
        assert 0 < properties["MaximumRetryAttempts"] == delivery.retry_attempts <= 100
        assert 60 <= properties["MaximumRecordAgeInSeconds"] == delivery.max_record_age_s \
            <= 24 * 3600   # the stream keeps a record 24 hours
        assert properties["DestinationConfig"] == \
            {"OnFailure": {"Destination": {"Fn::GetAtt": [queue_id, "Arn"]}}}
    assert fed == {_job(brand_id, name): (f"yutang-{brand_id}-{table}", handler)
                   for name, (table, handler) in _streams().items()}
    assert "orders" in {table for table, _ in _streams().values()}
    assert queue["Properties"]["QueueName"] == f"yutang-{brand_id}-stream-failures"
    assert queue["Properties"]["SqsManagedSseEnabled"] is True
    assert queue["Properties"]["MessageRetentionPeriod"] == 14 * 24 * 3600
    (policy,) = _of_type(expanded, "AWS::SQS::QueuePolicy").values()
    assert any(statement["Effect"] == "Deny" and statement["Condition"] == {
        "Bool": {"aws:SecureTransport": "false"}}
        for statement in policy["Properties"]["PolicyDocument"]["Statement"])


def _queue_grants(expanded, role_id):
    return _grants_on(expanded, role_id, ":sqs:")


@pytest.mark.parametrize("brand_id", BRANDS)
def test_only_a_stream_function_reads_its_tables_stream_and_sends_to_the_failures_queue(
        synthesized, brand_id):
    expanded = synthesized.expanded(brand_id)
    streamed = {_job(brand_id, name): table for name, (table, _) in _streams().items()}
    for function_name, role_id in _function_roles(expanded).items():
        table_grants = _grants(expanded, role_id)[0]
        read = {key[0]: actions for key, actions in table_grants.items()
                if isinstance(key, tuple) and key[1] == "stream"}
        if function_name in streamed:
            # What Lambda's event source mapping does with the function's role.
            assert read == {f"yutang-{brand_id}-{streamed[function_name]}": {
                "dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator",
                "dynamodb:ListStreams"}}, function_name
            assert _queue_grants(expanded, role_id) == {
                f"arn:sqs:yutang-{brand_id}-stream-failures": {"sqs:SendMessage"}}
        else:
            assert read == {} and _queue_grants(expanded, role_id) == {}, function_name


def test_the_reach_of_code_that_builds_module_names_is_refused():
    """A module name made at run time cannot be followed: the role would not know."""
    import ast

    from yutang_infra import reach

    for source in ('import_module(f"chalicelib.{name}.jobs")',
                   'importlib.import_module("chalicelib." + name)'):
        with pytest.raises(reach.ReachError, match="builds a module name"):
            reach._scan("chalicelib.example", [ast.parse(source)])
    # Names held in constants are followed, as lifecycle's promotions are.
    facts = reach._scan("chalicelib.example", [ast.parse(
        'PROMOTIONS = {"flash_sale": "chalicelib.promotions.flash.buying"}\n'
        'import_module(PROMOTIONS[channel])')])
    assert "chalicelib.promotions.flash.buying" in facts.loads


# -- the jobs, run: what they do stays within their roles -------------------------------------


_SCHEDULED_EVENT = {"version": "0", "id": "0", "detail-type": "Scheduled Event",
                    "source": "aws.events", "account": "123456789012",
                    "time": "2026-01-01T00:00:00Z", "region": "cn-north-1", "resources": [],
                    "detail": {}}


def _calls(operation, params):
    """(IAM action, table, index or None) of each item of one DynamoDB call."""
    if operation in ("TransactWriteItems", "TransactGetItems"):
        kinds = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem",
                 "ConditionCheck": "ConditionCheckItem", "Get": "GetItem"}
        return [(f"dynamodb:{kinds[kind]}", body["TableName"], None)
                for item in params["TransactItems"] for kind, body in item.items()]
    if operation in ("BatchGetItem", "BatchWriteItem"):
        return [(f"dynamodb:{operation}", table, None) for table in params["RequestItems"]]
    return [(f"dynamodb:{operation}", params["TableName"], params.get("IndexName"))]


def _paid_order():
    """An order placed and paid, in the code's own way: its change is in the orders stream."""
    import uuid

    from chalicelib.mall.channel import MALL
    from chalicelib.orders import payments, placing
    from tests.api.test_checkout import _member, _sku
    from tests.conftest import STORE_A

    order, _ = placing.place(MALL, _member(), uuid.uuid4().hex, {
        "store_id": STORE_A, "items": [{"sku_id": _sku(stock=1), "quantity": 1}],
        "fulfilment": "pickup"})
    payments.record_payment(order, f"42{uuid.uuid4().hex[:16]}", None)


def _shard_take_without_order():
    """A flash shard's unit taken for an order that never came: the shards' stream finds it."""
    import uuid

    from chalicelib.orders import takes
    from chalicelib.promotions.hotstock import StockShard, order_takes

    pool = f"infra-check-{uuid.uuid4().hex[:8]}#sku"
    StockShard(pool, 0, remaining=1).save()
    take, = order_takes(pool, {0: 1})
    assert takes.take(take, f"o_{uuid.uuid4().hex[:24]}", takes.new_attempt())


@pytest.fixture(scope="session")
def job_calls(local_services):
    """Every scheduled function run once, on whatever the suite's DynamoDB Local holds (the
    demo catalog at least), and every stream function given what the jobs changed, a paid
    order and a shard's take without its order, recording each DynamoDB call each makes, by function."""
    import importlib

    import botocore.client
    from chalice.app import ScheduledEventConfig

    from app import app
    from devtools import streams

    calls, current = {}, []
    original = botocore.client.BaseClient._make_api_call

    def recording(client, operation, params):
        if current and client.meta.service_model.service_name == "dynamodb":
            calls[current[-1]].extend(_calls(operation, params))
        return original(client, operation, params)

    def as_its_own(name, handler):
        """The stream function, its calls its own (the suite delivers the streams after each
        job, within the job's call)."""
        def invoked(event, context):
            current.append(name)
            try:
                return handler(event, context)
            finally:
                current.pop()
        return invoked

    streams.drain(app)  # what earlier tests wrote is delivered before recording starts
    stream_handlers = {name: app.handler_map[name] for name in _streams()}
    for name, handler in stream_handlers.items():
        calls[name] = []
        app.handler_map[name] = as_its_own(name, handler)
    botocore.client.BaseClient._make_api_call = recording
    try:
        for source in app.event_sources:
            if not isinstance(source, ScheduledEventConfig):
                continue
            module, _, function_name = source.handler_string.rpartition(".")
            handler = getattr(importlib.import_module(module), function_name)
            current[:] = [source.name]
            calls[source.name] = []
            handler(dict(_SCHEDULED_EVENT), None)
        current.clear()
        _paid_order()
        _shard_take_without_order()
        streams.drain(app)
    finally:
        botocore.client.BaseClient._make_api_call = original
        app.handler_map.update(stream_handlers)
        current.clear()
    return calls


@pytest.mark.parametrize("brand_id", BRANDS)
def test_each_job_runs_within_its_role(synthesized, job_calls, brand_id):
    from chalicelib.config import settings

    expanded = synthesized.expanded(brand_id)
    roles = _function_roles(expanded)
    prefix = settings.table_prefix
    brand_prefix = synthesized.brands[brand_id].table_prefix
    assert set(job_calls) == set(_schedules()) | set(_streams())
    for job, made in job_calls.items():
        assert made, f"{job} made no DynamoDB call (it reads its cursor at least)"
        tables, _, _, _ = _grants(expanded, roles[_job(brand_id, job)])
        for action, table, index in made:
            granted = brand_prefix + table.removeprefix(prefix)
            key = (granted, "index") if index else granted
            assert action in tables.get(key, ()), \
                f"{job} calls {action} on {table}{f'/index/{index}' if index else ''}, " \
                "which its role does not allow"


# -- the analysts' daily export ----------------------------------------------------------------


def _exported():
    from chalicelib.tables import ANALYST_EXPORTS

    return ANALYST_EXPORTS


def _exports_bucket(template, brand_id):
    return _buckets_by_name(template)[f"yutang-{brand_id}-exports-${{AWS::AccountId}}"]


def _schedules_by_name(template):
    return {resource["Properties"]["Name"]: resource["Properties"]
            for resource in _of_type(template, "AWS::Scheduler::Schedule").values()}


def _export_request(schedule, resources):
    """The ExportTableToPointInTime request a schedule sends, its references written out
    (`arn:dynamodb:table/<name>`, `<ref LogicalId>`, `${AWS::AccountId}`)."""
    return json.loads(_render(schedule["Target"]["Input"], resources))


@pytest.mark.parametrize("brand_id", BRANDS)
def test_the_exports_bucket_is_private_encrypted_and_keeps_exports_the_brands_days(
        synthesized, brand_id):
    template = synthesized.template(brand_id)
    logical_id, bucket = _exports_bucket(template, brand_id)
    _assert_private_and_tls_only(template, logical_id)
    assert bucket["DeletionPolicy"] == "Retain"   # the brand's data outlive the stack
    rules = {rule["Id"]: rule for rule in
             bucket["Properties"]["LifecycleConfiguration"]["Rules"]}
    assert rules["exports-expire"]["ExpirationInDays"] == \
        synthesized.brands[brand_id].export_retention_days
    assert "Prefix" not in rules["exports-expire"]   # every export
    assert rules["athena-results-expire"]["Prefix"] == "athena-results/"
    assert all(rule["Status"] == "Enabled" for rule in rules.values())


def test_the_exports_are_kept_400_days_unless_the_brand_file_says_otherwise(synthesized):
    demo, acme = synthesized.brands["demo"], synthesized.brands["acme"]
    assert demo.export_retention_days == brand_configs.EXPORT_RETENTION_DAYS == 400
    raw = json.loads((brand_configs.BRANDS_DIR / "acme.json").read_text())
    assert acme.export_retention_days == raw["export_retention_days"] != 400


@pytest.mark.parametrize("brand_id", BRANDS)
def test_orders_and_figures_are_exported_daily_at_two_in_shanghai_as_dynamodb_json(
        synthesized, brand_id):
    template = synthesized.template(brand_id)
    resources = template["Resources"]
    bucket_id, _ = _exports_bucket(template, brand_id)
    schedules = _schedules_by_name(template)
    assert set(schedules) == {f"yutang-{brand_id}-export-{table}" for table in _exported()}
    assert set(_exported()) == {"orders", "figures"}
    (group_id, group), = _of_type(template, "AWS::Scheduler::ScheduleGroup").items()
    assert group["Properties"]["Name"] == f"yutang-{brand_id}-exports"
    for table in _exported():
        schedule = schedules[f"yutang-{brand_id}-export-{table}"]
        # 02:00 in Shanghai is 18:00 UTC: after the day's business, before the next.
        assert schedule["ScheduleExpression"] == "cron(0 2 * * ? *)"
        assert schedule["ScheduleExpressionTimezone"] == "Asia/Shanghai"
        assert schedule["FlexibleTimeWindow"] == {"Mode": "OFF"}
        assert schedule["State"] == "ENABLED"
        assert schedule["GroupName"] == {"Ref": group_id}
        target = schedule["Target"]
        assert _render(target["Arn"], resources) == \
            "arn:${AWS::Partition}:scheduler:::aws-sdk:dynamodb:exportTableToPointInTime"
        request = _export_request(schedule, resources)
        assert request == {
            "TableArn": f"arn:dynamodb:table/yutang-{brand_id}-{table}",
            "S3Bucket": f"<ref {bucket_id}>", "S3BucketOwner": "${AWS::AccountId}",
            "S3Prefix": table, "S3SseAlgorithm": "AES256", "ExportFormat": "DYNAMODB_JSON",
            "ExportType": "FULL_EXPORT",
            # every try of one day's run is one export (DynamoDB keeps a token 8 hours)
            "ClientToken": f"yutang-{brand_id}-{table}@<aws.scheduler.scheduled-time>"}
        retry = target["RetryPolicy"]
        assert 0 < retry["MaximumEventAgeInSeconds"] <= 8 * 3600
        assert 0 < retry["MaximumRetryAttempts"] <= 185
    # The tables exported keep their point in time recovery, which the export reads from.
    tables = _tables_by_name(template)
    for table in _exported():
        assert tables[f"yutang-{brand_id}-{table}"]["Properties"][
            "PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}


@pytest.mark.parametrize("brand_id", BRANDS)
def test_only_the_export_schedules_role_may_export_and_only_those_tables_into_their_prefixes(
        synthesized, brand_id):
    expanded = synthesized.expanded(brand_id)
    resources = expanded["Resources"]
    roles = {target["RoleArn"]["Fn::GetAtt"][0]
             for target in (schedule["Target"]
                            for schedule in _schedules_by_name(expanded).values())}
    (role_id,) = roles
    trust = resources[role_id]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert [(statement["Principal"], statement["Condition"]) for statement in trust] == [
        ({"Service": "scheduler.amazonaws.com"},
         {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}})]
    bucket = f"arn:s3:::yutang-{brand_id}-exports-${{AWS::AccountId}}"
    granted = {}
    for actions, resource in _allowed(expanded, role_id):
        granted.setdefault(resource, set()).update(actions)
    assert granted == {
        **{f"arn:dynamodb:table/yutang-{brand_id}-{table}":
           {"dynamodb:ExportTableToPointInTime"} for table in _exported()},
        **{f"{bucket}/{table}/*": {"s3:AbortMultipartUpload", "s3:PutObject",
                                   "s3:PutObjectAcl"} for table in _exported()}}
    # No other role in the stack exports a table, and no function reaches the exports.
    for other_id, resource in _of_type(expanded, "AWS::IAM::Role").items():
        if other_id == role_id:
            continue
        for actions, target in _allowed(expanded, other_id):
            assert "dynamodb:ExportTableToPointInTime" not in actions, other_id
            assert not target.startswith(bucket), other_id


def _struct_fields(hive_type):
    """{field: type} of a Hive `struct<a:t,b:struct<...>>`, its top level only."""
    assert hive_type.startswith("struct<") and hive_type.endswith(">"), hive_type
    fields, depth, start, inner = {}, 0, 0, hive_type[len("struct<"):-1]
    for index, char in enumerate(inner + ","):
        depth += {"<": 1, ">": -1}.get(char, 0)
        if char == "," and depth == 0:
            name, _, field_type = inner[start:index].partition(":")
            assert name not in fields, name
            fields[name] = field_type
            start = index + 1
    return fields


@pytest.mark.parametrize("brand_id", BRANDS)
def test_athena_reads_each_export_through_a_glue_table_of_its_models_attributes(
        synthesized, brand_id):
    template = synthesized.template(brand_id)
    resources = template["Resources"]
    bucket_id, _ = _exports_bucket(template, brand_id)
    (database_id, database), = _of_type(template, "AWS::Glue::Database").items()
    assert database["Properties"]["DatabaseInput"]["Name"] == \
        f"yutang_{brand_id}".replace("-", "_")
    tables = {resource["Properties"]["TableInput"]["Name"]: resource["Properties"]
              for resource in _of_type(template, "AWS::Glue::Table").values()}
    assert set(tables) == set(_exported())
    models = {model.Meta.table: model for model in yutang_app.models()}
    schedules = _schedules_by_name(template)
    for table, properties in tables.items():
        assert properties["DatabaseName"] == {"Ref": database_id}
        table_input = properties["TableInput"]
        assert table_input["TableType"] == "EXTERNAL_TABLE"
        storage = table_input["StorageDescriptor"]
        assert storage["SerdeInfo"] == {
            "SerializationLibrary": "org.openx.data.jsonserde.JsonSerDe"}
        assert storage["InputFormat"] == "org.apache.hadoop.mapred.TextInputFormat"
        # Where DynamoDB writes the table's exports: <prefix>/AWSDynamoDB/<export id>/data/.
        prefix = _export_request(schedules[f"yutang-{brand_id}-export-{table}"],
                                 resources)["S3Prefix"]
        exports = f"s3://<ref {bucket_id}>/{prefix}/AWSDynamoDB/"
        assert _render(storage["Location"], resources) == exports
        parameters = table_input["Parameters"]
        assert table_input["PartitionKeys"][0]["Name"] == "export_id"
        assert len(table_input["PartitionKeys"]) == 1
        assert parameters["projection.enabled"] == "true"
        assert parameters["projection.export_id.type"] == "injected"
        assert _render(parameters["storage.location.template"], resources) == \
            exports + "${export_id}/data/"
        # One column, the exported line's Item: each attribute of the model, by its stored
        # name, as DynamoDB types it (numbers are strings: N).
        (column,) = storage["Columns"]
        assert column["Name"] == "item"
        fields = _struct_fields(column["Type"])
        model = models[table]
        expected = {attribute.attr_name: attribute.attr_type
                    for attribute in model.get_attributes().values()}
        assert set(fields) == set(expected)
        for name, dynamodb_type in expected.items():
            (letter, hive), = _struct_fields(fields[name]).items()
            assert letter == dynamodb_type, name
            assert hive == {"BOOL": "boolean"}.get(letter, "string"), name
    orders = _struct_fields(tables["orders"]["TableInput"]["StorageDescriptor"]["Columns"][0][
        "Type"])
    assert orders["total_fen"] == "struct<N:string>"
    assert orders["store_id"] == "struct<S:string>" and orders["paid_at"] == "struct<S:string>"
    figures = _struct_fields(tables["figures"]["TableInput"]["StorageDescriptor"]["Columns"][0][
        "Type"])
    assert figures["gmv_fen"] == "struct<N:string>" and figures["scope"] == "struct<S:string>"
    # The analysts' workgroup keeps its results in the bucket, encrypted, whatever a client
    # asks.
    (workgroup,) = _of_type(template, "AWS::Athena::WorkGroup").values()
    assert workgroup["Properties"]["Name"] == f"yutang-{brand_id}-analysts"
    configuration = workgroup["Properties"]["WorkGroupConfiguration"]
    assert configuration["EnforceWorkGroupConfiguration"] is True
    results = configuration["ResultConfiguration"]
    assert results["EncryptionConfiguration"] == {"EncryptionOption": "SSE_S3"}
    assert _render(results["OutputLocation"], resources) == \
        f"s3://<ref {bucket_id}>/athena-results/"


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
    # A stream function falling behind its stream, and any batch Lambda gave up on.
    for name in _streams():
        assert ("AWS/Lambda", "IteratorAge", (("FunctionName", _job(brand_id, name)),)) \
            in watched
    assert ("AWS/SQS", "ApproximateNumberOfMessagesVisible",
            (("QueueName", f"yutang-{brand_id}-stream-failures"),)) in watched
    # A day's export that Scheduler could not start (after its retries).
    assert ("AWS/Scheduler", "InvocationDroppedCount",
            (("ScheduleGroup", f"yutang-{brand_id}-exports"),)) in watched
    for table in _tables_by_name(template):
        for metric in ("ReadThrottleEvents", "WriteThrottleEvents"):
            assert ("AWS/DynamoDB", metric, (("TableName", table),)) in watched
    # The WAF's per-IP rule blocking in volume: a flood, or a crowd the limit is too low for.
    region = synthesized.brands[brand_id].region
    assert ("AWS/WAFV2", "BlockedRequests",
            (("Region", region), ("Rule", f"yutang-{brand_id}-ip-rate"),
             ("WebACL", f"yutang-{brand_id}"))) in watched


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
    ({"throttle_rate_per_s": 0}, "throttle_rate_per_s must be a whole number"),
    ({"throttle_burst": 2000.0}, "throttle_burst must be a whole number"),
    ({"waf_ip_requests_per_5min": 50}, "waf_ip_requests_per_5min must be a whole number"),
    ({"waf_ip_requests_per_5min": True}, "waf_ip_requests_per_5min must be a whole number"),
    ({"manage_api_gateway_log_role": "yes"}, "manage_api_gateway_log_role must be true"),
    ({"export_retention_days": 0}, "export_retention_days must be a whole number"),
    ({"export_retention_days": "400"}, "export_retention_days must be a whole number"),
])
def test_a_wrong_brand_config_is_refused(changes, message):
    with pytest.raises(brand_configs.BrandError, match=message):
        brand_configs.parse(_raw(**changes), expected_id="demo")


def test_a_brand_config_must_name_every_secret_the_template_stage_reads():
    raw = _raw(secrets={"wechat_app_secret": "yutang/demo/wechat-app-secret"})
    brand = brand_configs.parse(raw, expected_id="demo")
    with pytest.raises(ValueError, match="secrets must name exactly"):
        yutang_app.stage_config(brand, "arn:aws:iam::123456789012:role/app")

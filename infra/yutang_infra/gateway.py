"""What stands in front of the API handler: the stage's throttle and access logs, API
Gateway's own answers in the app's error shape, and a WAF web ACL on the stage.

- Throttle: the brand's rate and burst for every route together (brands.THROTTLE_RATE_PER_S).
- Access logs: one JSON line per request in `/aws/apigateway/yutang-<brand>` with the brand's
  retention: request id, client IP, method, route template, status, latencies, the WAF's
  verdict and API Gateway's error type. The route is the template (`/orders/{order_id}`), not
  the path, and no header or query string is logged: nothing a client sends as a secret can
  reach the log.
- Gateway responses: what API Gateway answers itself (an unknown route, a throttled request,
  a request the WAF blocked, a Lambda that timed out) is `{"error": {"code", "message"}}` with
  a code of the app's (chalicelib/errors.py); an unknown route is 404 `not_found`, not 403
  "Missing Authentication Token".
- WAF (REGIONAL, on the stage): a rate-based rule per client IP (429 `too_many_requests` in
  the error shape), AWS's known-bad-inputs and common rule sets. WeChat Pay's notifies come
  from a few WeChat servers, a flash sale's payments all at once: they are signed and checked
  by the app, and neither the per-IP rule nor the common rule set (which would judge WeChat's
  XML as a browser's input) applies to them. Metrics per rule; blocked requests are logged
  to `aws-waf-logs-yutang-<brand>` with the Authorization and Cookie headers and the query
  string redacted; no sampled requests (they would keep bearer tokens for three hours).
"""
import json

from aws_cdk import Acknowledgment, ArnFormat, RemovalPolicy, Stack, Token, Validations
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

ACCESS_LOG_FORMAT = {
    "request_id": "$context.requestId",
    "ip": "$context.identity.sourceIp",
    "method": "$context.httpMethod",
    "route": "$context.resourcePath",
    "status": "$context.status",
    "latency_ms": "$context.responseLatency",
    "integration_latency_ms": "$context.integrationLatency",
    "response_bytes": "$context.responseLength",
    "time": "$context.requestTime",
    "user_agent": "$context.identity.userAgent",
    "waf": "$context.wafResponseCode",
    "error": "$context.error.responseType",
    "trace_id": "$context.xrayTraceId",
}

# API Gateway's own answers: (status, code, message). Types not listed fall to DEFAULT_4XX and
# DEFAULT_5XX, which keep API Gateway's status and message.
GATEWAY_RESPONSES = {
    "MISSING_AUTHENTICATION_TOKEN": (404, "not_found", "No route answers this method and path."),
    "RESOURCE_NOT_FOUND": (404, "not_found", "No route answers this method and path."),
    "THROTTLED": (429, "too_many_requests",
                  "The service is taking more requests than it can; try again in a moment."),
    "QUOTA_EXCEEDED": (429, "too_many_requests", "Too many requests; try again later."),
    "WAF_FILTERED": (403, "forbidden", "The firewall refused this request."),
    "ACCESS_DENIED": (403, "forbidden", "Access denied."),
    "UNAUTHORIZED": (401, "unauthorized",
                     "Sign in first: send Authorization: Bearer <token>."),
    "REQUEST_TOO_LARGE": (413, "payload_too_large", "The request body is too large."),
    "UNSUPPORTED_MEDIA_TYPE": (415, "unsupported_media_type",
                               "This route does not take that Content-Type."),
    "BAD_REQUEST_BODY": (400, "bad_request", "The request body is not valid."),
    "BAD_REQUEST_PARAMETERS": (400, "bad_request", "The request parameters are not valid."),
    "INTEGRATION_TIMEOUT": (503, "service_unavailable",
                            "The service did not answer in time; try again (an order with the "
                            "same Idempotency-Key)."),
    "INTEGRATION_FAILURE": (503, "service_unavailable",
                            "The service is unavailable; try again in a moment."),
    "DEFAULT_4XX": (None, "bad_request", None),
    "DEFAULT_5XX": (None, "internal_error", None),
}

# WAF: the rate rule first (a flood is refused before the rule sets read it), then the
# managed rule groups. AWS's Common Rule Set blocks bodies over 8 KB; a member CSV import is
# larger, and the app caps each route's body itself, so that rule only counts.
RATE_RULE = "ip-rate"
MANAGED_RULE_GROUPS = (
    ("known-bad-inputs", "AWSManagedRulesKnownBadInputsRuleSet", False, ()),
    ("common", "AWSManagedRulesCommonRuleSet", True, ("SizeRestrictions_BODY",)),
)
RATE_LIMITED_BODY = "too-many-requests"


def gateway_responses():
    """The `x-amazon-apigateway-gateway-responses` of the API's definition."""
    responses = {}
    for response_type, (status, code, message) in GATEWAY_RESPONSES.items():
        text = json.dumps(message) if message else "$context.error.messageString"
        response = {"responseTemplates": {
            "application/json": '{"error": {"code": "%s", "message": %s}}' % (code, text)}}
        if status is not None:
            response["statusCode"] = str(status)
        responses[response_type] = response
    return responses


class Gateway(Construct):
    def __init__(self, scope, construct_id, *, brand, rest_api, stage, stage_ref,
                 callback_paths):
        super().__init__(scope, construct_id)
        self.brand = brand
        self.access_logs = _log_group(self, "AccessLogs", f"/aws/apigateway/yutang-{brand.id}",
                                      brand)
        rest_api.add_property_override("MethodSettings", [{
            "ResourcePath": "/*", "HttpMethod": "*",
            "ThrottlingRateLimit": brand.throttle_rate_per_s,
            "ThrottlingBurstLimit": brand.throttle_burst,
            # No execution logs: they can hold request data; the access log is enough.
            "LoggingLevel": "OFF", "DataTraceEnabled": False, "MetricsEnabled": False}])
        rest_api.add_property_override("AccessLogSetting", {
            "DestinationArn": self.access_logs.log_group_arn,
            "Format": json.dumps(ACCESS_LOG_FORMAT, separators=(",", ":"))})
        rest_api.add_property_override(
            "DefinitionBody.x-amazon-apigateway-gateway-responses", gateway_responses())
        if brand.manage_api_gateway_log_role:
            rest_api.add_dependency(self._log_role_setting())
        self.web_acl = self._web_acl(callback_paths, stage)
        # The stage by reference: the association waits until the stage exists.
        self.stage_arn = Stack.of(self).format_arn(
            service="apigateway", account="", resource="/restapis",
            resource_name=f"{rest_api.ref}/stages/{stage_ref}",
            arn_format=ArnFormat.SLASH_RESOURCE_NAME)
        association = wafv2.CfnWebACLAssociation(
            self, "WebAclAssociation", web_acl_arn=self.web_acl.attr_arn,
            resource_arn=self.stage_arn)
        Validations.of(association).acknowledge(Acknowledgment(
            id="CloudFormation-Validate::F1020",
            reason="RestAPI.Stage is the stage the SAM transform makes for the Chalice API; "
                   "the reference is SAM's own and is resolved by the transform."))
        self._waf_logging()

    @property
    def web_acl_name(self):
        return f"yutang-{self.brand.id}"

    def metric_name(self, rule=None):
        return f"yutang-{self.brand.id}" + (f"-{rule}" if rule else "")

    # -- API Gateway's account setting ---------------------------------------------------------

    def _log_role_setting(self):
        """API Gateway writes access logs through the role in its account setting, one per
        account and region, shared by every API there: so it may write any log group of the
        account and region, as AWS's own AmazonAPIGatewayPushToCloudWatchLogs policy does, and
        it outlives the stack (another brand's stack in the account may rely on it)."""
        stack = Stack.of(self)
        groups = stack.format_arn(service="logs", resource="log-group", resource_name="*",
                                  arn_format=ArnFormat.COLON_RESOURCE_NAME)
        role = iam.Role(
            self, "ApiGatewayLogRole",
            assumed_by=iam.ServicePrincipal("apigateway.amazonaws.com"),
            description="API Gateway's account setting: writes APIs' access logs",
            inline_policies={"access-logs": iam.PolicyDocument(statements=[
                iam.PolicyStatement(actions=["logs:CreateLogStream", "logs:DescribeLogGroups",
                                             "logs:DescribeLogStreams", "logs:PutLogEvents"],
                                    resources=[groups])])})
        role.apply_removal_policy(RemovalPolicy.RETAIN)
        account = "<AWS::AccountId>" if Token.is_unresolved(stack.account) else stack.account
        Validations.of(role).acknowledge(Acknowledgment(
            id=f"AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:logs:{stack.region}:"
               f"{account}:log-group:*]",
            reason="API Gateway's logging role is the account's and region's, not the "
                   "brand's: every API there writes its access logs through it. Only API "
                   "Gateway may assume it, and it may only write logs."))
        setting = apigateway.CfnAccount(self, "ApiGatewayAccount",
                                        cloud_watch_role_arn=role.role_arn)
        setting.apply_removal_policy(RemovalPolicy.RETAIN)
        return setting

    # -- WAF -------------------------------------------------------------------------------

    def _visibility(self, rule=None):
        return wafv2.CfnWebACL.VisibilityConfigProperty(
            cloud_watch_metrics_enabled=True, metric_name=self.metric_name(rule),
            sampled_requests_enabled=False)

    def _web_acl(self, callback_paths, stage):
        not_callbacks = _not_paths(callback_paths, stage)
        rate = wafv2.CfnWebACL.RateBasedStatementProperty(
            limit=self.brand.waf_ip_requests_per_5min, aggregate_key_type="IP",
            scope_down_statement=not_callbacks)
        rules = [wafv2.CfnWebACL.RuleProperty(
            name=RATE_RULE, priority=0,
            statement=wafv2.CfnWebACL.StatementProperty(rate_based_statement=rate),
            action=wafv2.CfnWebACL.RuleActionProperty(block=wafv2.CfnWebACL.BlockActionProperty(
                custom_response=wafv2.CfnWebACL.CustomResponseProperty(
                    response_code=429, custom_response_body_key=RATE_LIMITED_BODY))),
            visibility_config=self._visibility(RATE_RULE))]
        for priority, (name, group, skips_callbacks, counted) in enumerate(
                MANAGED_RULE_GROUPS, start=1):
            rules.append(wafv2.CfnWebACL.RuleProperty(
                name=name, priority=priority,
                statement=wafv2.CfnWebACL.StatementProperty(
                    managed_rule_group_statement=wafv2.CfnWebACL.ManagedRuleGroupStatementProperty(
                        vendor_name="AWS", name=group,
                        scope_down_statement=not_callbacks if skips_callbacks else None,
                        rule_action_overrides=[wafv2.CfnWebACL.RuleActionOverrideProperty(
                            name=rule, action_to_use=wafv2.CfnWebACL.RuleActionProperty(
                                count={})) for rule in counted] or None)),
                override_action=wafv2.CfnWebACL.OverrideActionProperty(none={}),
                visibility_config=self._visibility(name)))
        body = {"error": {"code": "too_many_requests",
                          "message": "Too many requests from this network; wait a few minutes "
                                     "and try again."}}
        return wafv2.CfnWebACL(
            self, "WebAcl", name=self.web_acl_name, scope="REGIONAL",
            description=f"Yutang {self.brand.id}: the firewall of the API stage",
            default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
            rules=rules, visibility_config=self._visibility(),
            custom_response_bodies={RATE_LIMITED_BODY: wafv2.CfnWebACL.CustomResponseBodyProperty(
                content_type="APPLICATION_JSON", content=json.dumps(body))})

    def _waf_logging(self):
        # WAF logs only to a log group named aws-waf-logs-*, given by its ARN without ":*".
        name = f"aws-waf-logs-yutang-{self.brand.id}"
        group = _log_group(self, "WafLogs", name, self.brand)
        arn = Stack.of(self).format_arn(service="logs", resource="log-group", resource_name=name,
                                        arn_format=ArnFormat.COLON_RESOURCE_NAME)
        config = wafv2.CfnLoggingConfiguration(
            self, "WafLogging", resource_arn=self.web_acl.attr_arn,
            log_destination_configs=[arn],
            redacted_fields=[
                wafv2.CfnLoggingConfiguration.FieldToMatchProperty(
                    single_header={"Name": "authorization"}),
                wafv2.CfnLoggingConfiguration.FieldToMatchProperty(
                    single_header={"Name": "cookie"}),
                wafv2.CfnLoggingConfiguration.FieldToMatchProperty(query_string={})],
            logging_filter={"DefaultBehavior": "DROP", "Filters": [{
                "Behavior": "KEEP", "Requirement": "MEETS_ANY",
                "Conditions": [{"ActionCondition": {"Action": "BLOCK"}}]}]})
        config.add_dependency(group.node.default_child)
        self.waf_logs = group


def _log_group(scope, construct_id, name, brand):
    group = logs.LogGroup(scope, construct_id, log_group_name=name,
                          removal_policy=RemovalPolicy.RETAIN)
    group.node.default_child.retention_in_days = brand.log_retention_days
    return group


def _not_paths(paths, stage):
    """Requests to none of these routes, by the custom domain's path or execute-api's (which
    starts with the stage)."""
    matches = [wafv2.CfnWebACL.StatementProperty(
        byte_match_statement=wafv2.CfnWebACL.ByteMatchStatementProperty(
            field_to_match=wafv2.CfnWebACL.FieldToMatchProperty(uri_path={}),
            positional_constraint="EXACTLY", search_string=prefix + path,
            text_transformations=[wafv2.CfnWebACL.TextTransformationProperty(
                priority=0, type="NONE")]))
        for path in paths for prefix in ("", f"/{stage}")]
    if not matches:
        return None
    match = matches[0] if len(matches) == 1 else wafv2.CfnWebACL.StatementProperty(
        or_statement=wafv2.CfnWebACL.OrStatementProperty(statements=matches))
    return wafv2.CfnWebACL.StatementProperty(
        not_statement=wafv2.CfnWebACL.NotStatementProperty(statement=match))

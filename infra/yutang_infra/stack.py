"""`Yutang-<brand>`: one brand's whole backend, isolated from every other brand's.

- a DynamoDB table per PynamoDB model, from the model's own schema (and its stream, for a
  model that declares one);
- the Chalice app (API Gateway, the API handler, one function per scheduled job and one per
  streamed table) through Chalice's CDK construct, with the brand's stage made from the
  `brand-template` stage;
- each stream function fed by its table's stream: the ARN Chalice cannot know is put on its
  event source mapping here, with how a failed batch is retried (halved, a bounded number of
  times and for a bounded age: chalicelib/jobs/streams.py) and a queue for what Lambda gives
  up on;
- in front of the API (yutang_infra.gateway): the stage's throttle, access logs, API
  Gateway's answers in the app's error shape, and a WAF web ACL;
- an S3 bucket of mini-program code images (CODE_IMAGES_BUCKET), private, TLS only;
- a role per function (yutang_infra.roles), each reaching only what that function's code
  uses of this brand's tables, indexes, secrets and buckets, its own log group, and X-Ray;
- a small reserved concurrency for every scheduled job (a stream function runs one batch per
  shard at a time, from the unreserved pool);
- the analysts' daily export (yutang_infra.exports): the orders and figures tables exported
  by DynamoDB from their point-in-time recovery to a bucket of their own, at 02:00 Shanghai
  time, with Glue tables for Athena over them;
- alarms to an SNS topic that e-mails the brand's ops team.
"""
import os

from aws_cdk import (Acknowledgment, Aws, CfnOutput, Duration, Fn, RemovalPolicy, Stack,
                     Validations)
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sqs as sqs
from chalice.cdk import Chalice

from yutang_infra import yutang_app
from yutang_infra.alarms import Alarms
from yutang_infra.exports import AnalystExports
from yutang_infra.gateway import RATE_RULE, Gateway
from yutang_infra.reach import reach
from yutang_infra.roles import function_role

API_STAGE = "api"
# Every scheduled job may run 2 at a time, and only 2: a run (at most the 15 s timeout, well
# inside its minute) and Lambda's retry of a failed one can overlap, and nothing more should.
# Reserved, the jobs cannot be starved by the API during a flash sale (when the minute jobs
# must still open and close windows and release unpaid orders' stock), and a runaway job
# cannot take the account's concurrency: ten jobs hold 20 of the account's 1,000 by default.
JOB_RESERVED_CONCURRENCY = 2
# The stack's buckets: the setting that names each (its environment variable, upper-cased,
# is set for the functions whose code reaches it) and the bucket's name within the brand.
BUCKETS = {"code_images_bucket": "code-images"}
# What Lambda gave up on stays this long in the stream failures queue (SQS's longest): the
# message names the shard and the sequence numbers, to read again within the stream's 24 hours.
STREAM_FAILURES_RETENTION = Duration.days(14)


def _pascal(name):
    return "".join(part[:1].upper() + part[1:] for part in name.replace("_", "-").split("-"))


class YutangStack(Stack):
    def __init__(self, scope, brand, tables, functions, **kwargs):
        super().__init__(
            scope, brand.stack_name,
            description=f"Yutang backend of the brand {brand.id}: API, scheduled jobs, "
                        f"DynamoDB tables, alarms",
            tags={"yutang:brand": brand.id}, **kwargs)
        self.brand = brand
        self.tables = {spec.table: self._table(spec) for spec in tables}
        self.buckets = {key: self._bucket(name) for key, name in BUCKETS.items()}
        self.log_groups = {spec.logical_id: self._log_group(spec) for spec in functions}
        self.stream_failures = self._stream_failures() if any(
            spec.stream for spec in functions) else None
        models = [spec.model for spec in tables]
        table_specs = {spec.table: spec for spec in tables}
        self.reaches = {spec.logical_id: reach(spec.entries, models, brand.secrets,
                                               self.buckets)
                        for spec in functions}
        self.roles = {spec.logical_id: function_role(
            self, brand=brand, spec=spec, reach=self.reaches[spec.logical_id],
            tables=self.tables, table_specs=table_specs,
            log_group=self.log_groups[spec.logical_id], buckets=self.buckets,
            stream_failures=self.stream_failures)
            for spec in functions}
        self.chalice = self._chalice_app(functions)
        self.rest_api = self.chalice.get_resource("RestAPI")
        self.gateway = Gateway(self, "Gateway", brand=brand, rest_api=self.rest_api,
                               stage=API_STAGE, stage_ref=Fn.ref("RestAPI.Stage"),
                               callback_paths=yutang_app.callback_paths(
                                   yutang_app.chalice_app()))
        if brand.certificate_arn:
            self._custom_domain()
        self.exports = AnalystExports(self, "Exports", brand=brand, tables=self.tables,
                                      table_specs=table_specs,
                                      exported=yutang_app.analyst_exports())
        self.alarms = Alarms(self, "Alarms", brand=brand, api_name=self.api_name,
                             api_stage=API_STAGE, tables=self.tables,
                             functions={spec.logical_id: brand.function_name(spec.name)
                                        for spec in functions},
                             api_log_group=self.log_groups.get("APIHandler"),
                             stream_functions={spec.logical_id: brand.function_name(spec.name)
                                               for spec in functions if spec.stream},
                             stream_failures_queue=self.stream_failures_name
                             if self.stream_failures else None,
                             waf_rate_rule=(self.gateway.web_acl_name,
                                            self.gateway.metric_name(RATE_RULE)),
                             export_schedule_group=self.exports.schedule_group.name)
        # Chalice's own outputs give the execute-api address (EndpointURL); this is where
        # WeChat is told to send notifies.
        CfnOutput(self, "PublicApiUrl", value=brand.public_api_url)
        CfnOutput(self, "AlarmTopicArn", value=self.alarms.topic.topic_arn)

    @property
    def api_name(self):
        return f"yutang-{self.brand.id}"

    @property
    def stream_failures_name(self):
        return f"yutang-{self.brand.id}-stream-failures"

    # -- tables ----------------------------------------------------------------------------

    def _table(self, spec):
        def index(raw):
            return dynamodb.CfnTable.GlobalSecondaryIndexProperty(
                index_name=raw["index_name"], key_schema=_keys(raw["key_schema"]),
                projection=_projection(raw["projection"]))

        def local_index(raw):
            return dynamodb.CfnTable.LocalSecondaryIndexProperty(
                index_name=raw["index_name"], key_schema=_keys(raw["key_schema"]),
                projection=_projection(raw["projection"]))

        table = dynamodb.CfnTable(
            self, "Table" + _pascal(spec.table),
            table_name=spec.name(self.brand.table_prefix),
            billing_mode="PAY_PER_REQUEST",
            key_schema=_keys(spec.key_schema),
            attribute_definitions=[dynamodb.CfnTable.AttributeDefinitionProperty(
                attribute_name=item["AttributeName"], attribute_type=item["AttributeType"])
                for item in spec.attribute_definitions],
            global_secondary_indexes=[index(raw) for raw in spec.global_indexes] or None,
            local_secondary_indexes=[local_index(raw) for raw in spec.local_indexes] or None,
            point_in_time_recovery_specification=(
                dynamodb.CfnTable.PointInTimeRecoverySpecificationProperty(
                    point_in_time_recovery_enabled=True)),
            deletion_protection_enabled=True,
            time_to_live_specification=(
                dynamodb.CfnTable.TimeToLiveSpecificationProperty(
                    attribute_name=spec.ttl_attribute, enabled=True)
                if spec.ttl_attribute else None),
            stream_specification=(
                dynamodb.CfnTable.StreamSpecificationProperty(
                    stream_view_type=spec.stream_view_type)
                if spec.stream_view_type else None),
        )
        # A table outlives its stack: deleting or replacing the stack never deletes data.
        table.apply_removal_policy(RemovalPolicy.RETAIN)
        table.node.add_metadata("yutang:model", spec.model.__name__)
        return table

    # -- buckets -----------------------------------------------------------------------------

    def _bucket(self, name):
        bucket = s3.Bucket(
            self, "Bucket" + _pascal(name),
            # Bucket names are global: the account's id keeps the brand's its own.
            bucket_name=f"yutang-{self.brand.id}-{name}-{Aws.ACCOUNT_ID}",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED, enforce_ssl=True,
            removal_policy=RemovalPolicy.RETAIN)
        Validations.of(bucket).acknowledge(Acknowledgment(
            id="AwsSolutions-S1",
            reason="It holds mini-program codes, each fetched from WeChat again if lost; the "
                   "API's access logs record every request for one."))
        return bucket

    # -- streams -----------------------------------------------------------------------------

    def _stream_failures(self):
        queue = sqs.Queue(
            self, "StreamFailures", queue_name=self.stream_failures_name,
            encryption=sqs.QueueEncryption.SQS_MANAGED, enforce_ssl=True,
            retention_period=STREAM_FAILURES_RETENTION)
        Validations.of(queue).acknowledge(Acknowledgment(
            id="AwsSolutions-SQS3",
            reason="This queue is itself the dead letter of the stream functions' event source "
                   "mappings: Lambda sends it the batches it gave up on, for a person to read "
                   "again (an alarm calls them); nothing consumes it to fail in turn."))
        return queue

    def _feed_from_stream(self, function, spec, delivery):
        """The stream function's event source mapping: its table's stream, and how a batch
        that fails is delivered again before it is given up to the failures queue."""
        prefix = f"Events.{spec.stream_event}.Properties"
        function.add_property_override(f"{prefix}.Stream",
                                       self.tables[spec.stream].attr_stream_arn)
        function.add_property_override(f"{prefix}.BisectBatchOnFunctionError", True)
        function.add_property_override(f"{prefix}.MaximumRetryAttempts",
                                       delivery.retry_attempts)
        function.add_property_override(f"{prefix}.MaximumRecordAgeInSeconds",
                                       delivery.max_record_age_s)
        function.add_property_override(f"{prefix}.DestinationConfig.OnFailure.Destination",
                                       self.stream_failures.queue_arn)

    # -- logs --------------------------------------------------------------------------------

    def _log_group(self, spec):
        group = logs.LogGroup(
            self, "Logs" + spec.logical_id,
            log_group_name=f"/aws/lambda/{self.brand.function_name(spec.name)}",
            removal_policy=RemovalPolicy.RETAIN)
        group.node.default_child.retention_in_days = self.brand.log_retention_days
        return group

    # -- the Chalice app -------------------------------------------------------------------

    def _chalice_app(self, functions):
        saved = dict(os.environ)
        try:
            # Chalice packages offline (as `chalice package` does): it wants a region, and it
            # sets the stage's variables in os.environ while it imports the app. Both are put
            # back afterwards, for the next brand.
            os.environ["AWS_DEFAULT_REGION"] = self.brand.region
            # The stage names one role; each function's own is set below.
            app = Chalice(self, "App", source_dir=str(yutang_app.ROOT),
                          stage_config=yutang_app.stage_config(
                              self.brand, self.roles["APIHandler"].role_arn))
        finally:
            os.environ.clear()
            os.environ.update(saved)
        api = app.get_resource("RestAPI")
        # Each brand's API has its own name (API Gateway's metrics are per API name), and
        # X-Ray traces requests from API Gateway on.
        api.add_property_override("Name", self.api_name)
        api.add_property_override("DefinitionBody.info.title", self.api_name)
        api.add_property_override("TracingEnabled", True)
        delivery = yutang_app.stream_delivery()
        for spec in functions:
            function = app.get_resource(spec.logical_id)
            function.add_property_override("FunctionName", self.brand.function_name(spec.name))
            function.add_property_override("Role", self.roles[spec.logical_id].role_arn)
            for key in sorted(self.reaches[spec.logical_id].buckets):
                function.add_property_override(f"Environment.Variables.{key.upper()}",
                                               self.buckets[key].bucket_name)
            if spec.is_job:
                function.add_property_override("ReservedConcurrentExecutions",
                                               JOB_RESERVED_CONCURRENCY)
            if spec.stream:
                self._feed_from_stream(function, spec, delivery)
            # The function's log group exists (with its retention) before the function runs.
            function.add_resource_dependency(
                self.log_groups[spec.logical_id].node.default_child)
        return app

    def _custom_domain(self):
        domain = apigateway.CfnDomainName(
            self, "Domain", domain_name=self.brand.domain,
            regional_certificate_arn=self.brand.certificate_arn,
            endpoint_configuration=apigateway.CfnDomainName.EndpointConfigurationProperty(
                types=["REGIONAL"]),
            security_policy="TLS_1_2")
        mapping = apigateway.CfnBasePathMapping(
            self, "DomainMapping", domain_name=domain.ref, rest_api_id=self.rest_api.ref,
            # `RestAPI.Stage` is the stage SAM makes for the API: the mapping waits for it.
            stage=Fn.ref("RestAPI.Stage"))
        Validations.of(mapping).acknowledge(Acknowledgment(
            id="CloudFormation-Validate::F1020",
            reason="RestAPI.Stage is the stage the SAM transform makes for the Chalice API; "
                   "the reference is SAM's own and is resolved by the transform."))
        CfnOutput(self, "DomainTarget", value=domain.attr_regional_domain_name,
                  description=f"Point {self.brand.domain} (CNAME or alias) here")


def _keys(key_schema):
    return [dynamodb.CfnTable.KeySchemaProperty(attribute_name=key["AttributeName"],
                                                key_type=key["KeyType"])
            for key in sorted(key_schema, key=lambda key: key["KeyType"])]


def _projection(raw):
    return dynamodb.CfnTable.ProjectionProperty(
        projection_type=raw.get("ProjectionType"),
        non_key_attributes=raw.get("NonKeyAttributes"))

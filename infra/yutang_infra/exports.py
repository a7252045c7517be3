"""The analysts' daily export: the orders and the retail figures, each table whole, as JSON
lines in a bucket of the brand's, with Athena tables over them.

- DynamoDB exports each table (chalicelib.tables.ANALYST_EXPORTS) from its point-in-time
  recovery, which every table has: no read capacity is used and the app does not notice.
  An EventBridge Scheduler schedule per table calls ExportTableToPointInTime directly (a
  universal target: no function of ours runs) at 02:00 Asia/Shanghai, after the day's
  business, with a role that may start exports of those two tables only and write only
  under their prefixes;
- DynamoDB writes `<table>/AWSDynamoDB/<export id>/data/*.json.gz` (DynamoDB JSON, one
  `{"Item": {...}}` a line) and the export's manifests beside `data/`; the bucket is
  private, encrypted, TLS only, and deletes an export after the brand's
  export_retention_days;
- a Glue database with a table per exported table, over the `Item` struct (its fields from the
  PynamoDB model, each attribute as DynamoDB types it: `item.total_fen.N`), partitioned by
  the export's id (projected, never crawled: a query names its export, and one export is
  one whole table, so two would count everything twice);
- an Athena workgroup whose results go to the same bucket, encrypted, kept a month.

`python -m devtools.export` writes the same layout locally from DynamoDB Local.
"""
from aws_cdk import (Acknowledgment, Aws, CfnOutput, Duration, RemovalPolicy, Stack,
                     Validations)
from aws_cdk import aws_athena as athena
from aws_cdk import aws_glue as glue
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_scheduler as scheduler
from constructs import Construct

# 02:00 in Shanghai (18:00 UTC): the day's orders are in, the night's traffic is low.
SCHEDULE = "cron(0 2 * * ? *)"
SCHEDULE_TIMEZONE = "Asia/Shanghai"
EXPORT_FORMAT = "DYNAMODB_JSON"
# Scheduler tries again on throttling or a 5XX for this long. Each try names the same
# ClientToken (the table and the scheduled time), which DynamoDB keeps 8 hours: a try after
# one that did start the export starts none.
RETRY_FOR = Duration.hours(6)
RETRY_ATTEMPTS = 10
# What DynamoDB's export needs of the caller on the bucket (it writes with the caller's
# permissions): each object, and abandoning an upload it gives up on.
EXPORT_OBJECT_ACTIONS = ["s3:AbortMultipartUpload", "s3:PutObject", "s3:PutObjectAcl"]
ATHENA_RESULTS_PREFIX = "athena-results/"
ATHENA_RESULTS_DAYS = 30
# DynamoDB's attribute types as Hive types, for the JSON SerDe: numbers stay the strings
# DynamoDB writes (cast them: CAST(item.total_fen.N AS BIGINT)), binary is base64.
_HIVE_TYPES = {"S": "string", "N": "string", "B": "string", "BOOL": "boolean",
               "SS": "array<string>", "NS": "array<string>", "BS": "array<string>"}


def glue_name(name):
    """Athena's names: lower-case letters, digits and underscores."""
    return name.replace("-", "_").lower()


def item_type(model):
    """The Hive type of an exported item of the model: a struct of its attributes, each a
    struct of its DynamoDB type (`struct<order_id:struct<S:string>,...>`)."""
    fields = []
    for attribute in sorted(model.get_attributes().values(), key=lambda a: a.attr_name):
        hive = _HIVE_TYPES.get(attribute.attr_type)
        if hive is None:
            raise ValueError(f"{model.__name__}.{attribute.attr_name}: no Hive type here for "
                             f"DynamoDB's {attribute.attr_type}; add one to _HIVE_TYPES")
        fields.append(f"{attribute.attr_name}:struct<{attribute.attr_type}:{hive}>")
    return f"struct<{','.join(fields)}>"


class AnalystExports(Construct):
    def __init__(self, scope, construct_id, *, brand, tables, table_specs, exported):
        """`tables` and `table_specs` by Meta.table; `exported`, the Meta.table of each table
        to export."""
        super().__init__(scope, construct_id)
        self.brand = brand
        self.exported = tuple(exported)
        self.bucket = self._bucket()
        self.role = self._role([tables[table] for table in self.exported])
        self.schedule_group = scheduler.CfnScheduleGroup(
            self, "Schedules", name=f"yutang-{brand.id}-exports")
        self.schedules = {table: self._schedule(table, tables[table])
                          for table in self.exported}
        self.database_name = glue_name(f"yutang_{brand.id}")
        self.database = glue.CfnDatabase(
            self, "Database", catalog_id=Aws.ACCOUNT_ID,
            database_input=glue.CfnDatabase.DatabaseInputProperty(
                name=self.database_name,
                description=f"Yutang {brand.id}: the daily exports of "
                            f"{' and '.join(self.exported)} (DynamoDB JSON)"))
        self.glue_tables = {table: self._glue_table(table, table_specs[table].model)
                            for table in self.exported}
        self.workgroup = self._workgroup()
        stack = Stack.of(self)
        CfnOutput(stack, "ExportsBucket", value=self.bucket.bucket_name,
                  description="The analysts' daily exports: <table>/AWSDynamoDB/<export id>/")
        CfnOutput(stack, "ExportsGlueDatabase", value=self.database_name,
                  description="Athena: the exports' tables (name the export_id in a query)")
        CfnOutput(stack, "ExportsAthenaWorkGroup", value=self.workgroup.name)

    @property
    def bucket_name(self):
        return f"yutang-{self.brand.id}-exports-{Aws.ACCOUNT_ID}"

    def _bucket(self):
        bucket = s3.Bucket(
            self, "Bucket", bucket_name=self.bucket_name,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED, enforce_ssl=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            lifecycle_rules=[
                s3.LifecycleRule(id="exports-expire",
                                 expiration=Duration.days(self.brand.export_retention_days),
                                 abort_incomplete_multipart_upload_after=Duration.days(7)),
                s3.LifecycleRule(id="athena-results-expire", prefix=ATHENA_RESULTS_PREFIX,
                                 expiration=Duration.days(ATHENA_RESULTS_DAYS))],
            # The exports are the brand's data: deleting the stack leaves them.
            removal_policy=RemovalPolicy.RETAIN)
        Validations.of(bucket).acknowledge(Acknowledgment(
            id="AwsSolutions-S1",
            reason="Only DynamoDB's exports (started by the export schedules' role, each "
                   "recorded by CloudTrail) and Athena's results are written here, and "
                   "analysts read it with their own IAM identities; access logs would add "
                   "nothing but cost."))
        return bucket

    def _role(self, tables):
        stack = Stack.of(self)
        role = iam.Role(
            self, "ScheduleRole",
            assumed_by=iam.ServicePrincipal("scheduler.amazonaws.com", conditions={
                "StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID}}),
            description=f"Yutang {self.brand.id}: the schedules that start the daily exports "
                        f"of {' and '.join(self.exported)}",
            inline_policies={"yutang-exports": iam.PolicyDocument(statements=[
                iam.PolicyStatement(sid="ExportTables",
                                    actions=["dynamodb:ExportTableToPointInTime"],
                                    resources=[table.attr_arn for table in tables]),
                iam.PolicyStatement(sid="WriteExports", actions=EXPORT_OBJECT_ACTIONS,
                                    resources=[self.bucket.arn_for_objects(f"{table}/*")
                                               for table in self.exported])])})
        bucket_id = stack.get_logical_id(self.bucket.node.default_child)
        Validations.of(role).acknowledge(*[Acknowledgment(
            id=f"AwsSolutions-IAM5[Resource::<{bucket_id}.Arn>/{table}/*]",
            reason=f"DynamoDB names each export's objects itself (an export id and random "
                   f"file names), under the {table} export's own prefix of this brand's "
                   f"exports bucket: nothing else may be written.")
            for table in self.exported])
        return role

    def _schedule(self, table, cfn_table):
        table_name = cfn_table.table_name
        request = {
            "TableArn": cfn_table.attr_arn,
            "S3Bucket": self.bucket.bucket_name,
            "S3BucketOwner": Aws.ACCOUNT_ID,
            "S3Prefix": table,
            "S3SseAlgorithm": "AES256",
            "ExportFormat": EXPORT_FORMAT,
            "ExportType": "FULL_EXPORT",
            # Scheduler puts in the time this run was due: every try of one run is one export.
            "ClientToken": f"{table_name}@{scheduler.ContextAttribute.scheduled_time}",
        }
        return scheduler.CfnSchedule(
            self, "Export" + "".join(part.title() for part in table.split("-")),
            name=f"yutang-{self.brand.id}-export-{table}",
            group_name=self.schedule_group.ref,
            description=f"Exports {table_name} to the analysts' bucket, daily at 02:00 "
                        f"{SCHEDULE_TIMEZONE}",
            schedule_expression=SCHEDULE, schedule_expression_timezone=SCHEDULE_TIMEZONE,
            flexible_time_window=scheduler.CfnSchedule.FlexibleTimeWindowProperty(mode="OFF"),
            state="ENABLED",
            target=scheduler.CfnSchedule.TargetProperty(
                arn=f"arn:{Aws.PARTITION}:scheduler:::aws-sdk:dynamodb:"
                    "exportTableToPointInTime",
                role_arn=self.role.role_arn,
                input=Stack.of(self).to_json_string(request),
                retry_policy=scheduler.CfnSchedule.RetryPolicyProperty(
                    maximum_event_age_in_seconds=int(RETRY_FOR.to_seconds()),
                    maximum_retry_attempts=RETRY_ATTEMPTS)))

    def _glue_table(self, table, model):
        exports = f"s3://{self.bucket.bucket_name}/{table}/AWSDynamoDB/"
        return glue.CfnTable(
            self, "Table" + "".join(part.title() for part in table.split("-")),
            catalog_id=Aws.ACCOUNT_ID, database_name=self.database.ref,
            table_input=glue.CfnTable.TableInputProperty(
                name=glue_name(table), table_type="EXTERNAL_TABLE",
                description=f"The daily exports of {table} (DynamoDB JSON): one export is the "
                            f"whole table on its day; name it, WHERE export_id = '...'",
                parameters={
                    "classification": "json",
                    "compressionType": "gzip",
                    # The export's id is given by the query (injected): no partition to add
                    # or crawl when a new export lands.
                    "projection.enabled": "true",
                    "projection.export_id.type": "injected",
                    "storage.location.template": exports + "${export_id}/data/",
                },
                partition_keys=[glue.CfnTable.ColumnProperty(
                    name="export_id", type="string",
                    comment="the export's id, as in <table>/AWSDynamoDB/<export id>/")],
                storage_descriptor=glue.CfnTable.StorageDescriptorProperty(
                    location=exports,
                    columns=[glue.CfnTable.ColumnProperty(
                        name="item", type=item_type(model),
                        comment=f"the {model.__name__} item, each attribute as DynamoDB "
                                f"types it (S, N as a string, B as base64, BOOL)")],
                    input_format="org.apache.hadoop.mapred.TextInputFormat",
                    output_format="org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat",
                    compressed=True,
                    serde_info=glue.CfnTable.SerdeInfoProperty(
                        serialization_library="org.openx.data.jsonserde.JsonSerDe"))))

    def _workgroup(self):
        return athena.CfnWorkGroup(
            self, "WorkGroup", name=f"yutang-{self.brand.id}-analysts",
            description=f"Yutang {self.brand.id}: queries over the daily exports "
                        f"(database {self.database_name})",
            recursive_delete_option=True,
            work_group_configuration=athena.CfnWorkGroup.WorkGroupConfigurationProperty(
                enforce_work_group_configuration=True,
                publish_cloud_watch_metrics_enabled=True,
                result_configuration=athena.CfnWorkGroup.ResultConfigurationProperty(
                    output_location=f"s3://{self.bucket.bucket_name}/{ATHENA_RESULTS_PREFIX}",
                    encryption_configuration=athena.CfnWorkGroup
                    .EncryptionConfigurationProperty(encryption_option="SSE_S3"))))

"""One role per Lambda function of the app (the API handler, each scheduled job, each table's
stream function), allowed only what that function's code reaches (yutang_infra.reach): its
tables and their indexes, its secrets, its buckets' objects, its own log group, and X-Ray; a
stream function also reads its table's stream (Lambda reads it with the function's role) and
sends what it gives up on to the stream failures queue. A job added to the app gets its role
from its code.

No role may Scan: the app never does. DescribeTable is for code that describes tables (the
health check); a transaction needs no action of its own (IAM checks each of its items as the
put, update, delete or condition check it is).
"""
from aws_cdk import Acknowledgment, ArnFormat, Stack, Validations
from aws_cdk import aws_iam as iam

DATA_ACTIONS = ["dynamodb:BatchGetItem", "dynamodb:BatchWriteItem",
                "dynamodb:ConditionCheckItem", "dynamodb:DeleteItem", "dynamodb:GetItem",
                "dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem"]
DESCRIBE_ACTIONS = ["dynamodb:DescribeTable"]
INDEX_ACTIONS = ["dynamodb:Query"]
XRAY_ACTIONS = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
OBJECT_ACTIONS = ["s3:GetObject", "s3:PutObject"]
# Without ListBucket, S3 answers AccessDenied for a missing object where the code expects
# NoSuchKey.
BUCKET_ACTIONS = ["s3:ListBucket"]
# What Lambda's event source mapping does with the function's role: read the table's stream
# (on its ARN, as DynamoDB's own example policy has it), and send a batch it gives up on to the
# on-failure queue.
STREAM_ACTIONS = ["dynamodb:DescribeStream", "dynamodb:GetRecords",
                  "dynamodb:GetShardIterator", "dynamodb:ListStreams"]
FAILURE_QUEUE_ACTIONS = ["sqs:SendMessage"]


def function_role(scope, *, brand, spec, reach, tables, table_specs, log_group, buckets,
                  stream_failures=None):
    """The role of the function `spec`; `tables` and `table_specs` by Meta.table, `buckets`
    by the setting that names each; `stream_failures`, the queue a stream function's batches
    go to when Lambda gives up on them."""
    stack = Stack.of(scope)
    reached = sorted(reach.tables)
    statements = []
    if reached:
        statements.append(iam.PolicyStatement(
            sid="Tables", resources=[tables[table].attr_arn for table in reached],
            actions=DATA_ACTIONS + (DESCRIBE_ACTIONS if reach.describes_tables else [])))
    indexed = [table for table in reached
               if table_specs[table].global_indexes or table_specs[table].local_indexes]
    if indexed:
        statements.append(iam.PolicyStatement(
            sid="TableIndexes", actions=INDEX_ACTIONS,
            resources=[f"{tables[table].attr_arn}/index/*" for table in indexed]))
    secrets = sorted(brand.secrets[key] for key in reach.secrets)
    if secrets:
        statements.append(iam.PolicyStatement(
            sid="Secrets", actions=["secretsmanager:GetSecretValue"],
            resources=[stack.format_arn(service="secretsmanager", resource="secret",
                                        resource_name=f"{name}-??????",
                                        arn_format=ArnFormat.COLON_RESOURCE_NAME)
                       for name in secrets]))
    reached_buckets = [buckets[key] for key in sorted(reach.buckets)]
    if reached_buckets:
        statements += [
            iam.PolicyStatement(sid="Buckets", actions=BUCKET_ACTIONS,
                                resources=[bucket.bucket_arn for bucket in reached_buckets]),
            iam.PolicyStatement(sid="BucketObjects", actions=OBJECT_ACTIONS,
                                resources=[bucket.arn_for_objects("*")
                                           for bucket in reached_buckets])]
    if spec.stream:
        statements += [
            iam.PolicyStatement(sid="Stream", actions=STREAM_ACTIONS,
                                resources=[tables[spec.stream].attr_stream_arn]),
            iam.PolicyStatement(sid="StreamFailures", actions=FAILURE_QUEUE_ACTIONS,
                                resources=[stream_failures.queue_arn])]
    statements += [
        iam.PolicyStatement(sid="OwnLogGroup",
                            actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                            resources=[log_group.log_group_arn]),
        iam.PolicyStatement(sid="XRay", actions=XRAY_ACTIONS, resources=["*"]),
    ]
    if spec.name == "api":
        what = "the API handler"
    elif spec.stream:
        what = f"the {spec.name} function, fed by the {spec.stream} table's stream"
    else:
        what = f"the {spec.name} job"
    role = iam.Role(scope, "Role" + spec.logical_id,
                    assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
                    description=f"Yutang {brand.id}: {what}",
                    inline_policies={"yutang-function": iam.PolicyDocument(
                        statements=statements)})
    _acknowledge_wildcards(role, tables, indexed, reached_buckets)
    return role


def _acknowledge_wildcards(role, tables, indexed, buckets):
    """Each wildcard of the role's policy, with why it is there (cdk-nag IAM5)."""
    def ack(resource, reason):
        return Acknowledgment(id=f"AwsSolutions-IAM5[Resource::{resource}]", reason=reason)

    acks = [ack("*", "X-Ray's PutTraceSegments and PutTelemetryRecords take no resource; "
                     "only those two actions are granted on '*'.")]
    for table in indexed:
        logical_id = Stack.of(role).get_logical_id(tables[table])
        acks.append(ack(f"<{logical_id}.Arn>/index/*",
                        f"Query on the indexes of this brand's own table {table}, which this "
                        "function's code uses: the app queries them by name."))
    for bucket in buckets:
        logical_id = Stack.of(role).get_logical_id(bucket.node.default_child)
        acks.append(ack(f"<{logical_id}.Arn>/*",
                        "The objects of this brand's own bucket, which this function's code "
                        "reads and writes by key (one object per mini-program code)."))
    Validations.of(role).acknowledge(*acks)

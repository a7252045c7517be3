"""A brand's alarms, each e-mailing the brand's ops team through one SNS topic.

- the API's 5XX rate (once there is traffic enough for a rate to mean something);
- each function's errors and throttles;
- each stream function falling behind its table's stream (the age of the newest record it
  was handed), and any batch Lambda gave up on (a message in the stream failures queue: the
  payment effects of those orders wait for a person);
- each table's read and write throttle events;
- payment (and refund) notifies that failed verification: the app logs them as JSON lines
  with `"event": "pay_notify_rejected"`, counted by a metric filter on the API's log group;
- the WAF's per-IP rule blocking requests in volume: a flood or a scraper, or a crowd behind
  one address that the brand's limit is too low for;
- a daily export for the analysts that could not be started: Scheduler gave up calling
  DynamoDB's ExportTableToPointInTime (its tries over hours all refused).
"""
from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

PERIOD = Duration.minutes(5)
# The 5XX rate alarms above 5% of requests, counted only in 5-minute periods with at least
# this many requests: at night one failed request of three is not an outage.
MIN_REQUESTS = 20
MAX_5XX_RATE = 0.05
# Log events of the API handler that mean someone sent a notify WeChat did not sign, or one
# that does not match its order or refund: metric name for each.
REJECTED_NOTIFIES = {"pay_notify_rejected": "PayNotifyRejected",
                     "refund_notify_rejected": "RefundNotifyRejected"}
# A few requests blocked in 5 minutes are a scraper that gave up; this many mean an attack
# going on, or shoppers being turned away: someone should read the WAF's log.
WAF_BLOCKED_REQUESTS = 100
# A stream function this far behind its table: the points, commissions and messages of a
# payment arrive minutes late (they come within a second when all is well).
STREAM_ITERATOR_AGE = Duration.minutes(5)


class Alarms(Construct):
    def __init__(self, scope, construct_id, *, brand, api_name, api_stage, tables, functions,
                 api_log_group, waf_rate_rule=None, stream_functions=None,
                 stream_failures_queue=None, export_schedule_group=None):
        super().__init__(scope, construct_id)
        self.brand = brand
        self.namespace = f"Yutang/{brand.id}"
        self.topic = sns.Topic(self, "Topic", topic_name=f"yutang-{brand.id}-alarms",
                               display_name=f"Yutang {brand.id} alarms", enforce_ssl=True)
        self.topic.add_subscription(subscriptions.EmailSubscription(brand.alarm_email))
        self.alarms = []
        self._api_5xx(api_name, api_stage)
        for logical_id, function_name in functions.items():
            self._function(logical_id, function_name)
        for logical_id, function_name in (stream_functions or {}).items():
            self._stream_behind(logical_id, function_name)
        if stream_failures_queue is not None:
            self._stream_batches_given_up(stream_failures_queue)
        for table in tables.values():
            self._table_throttles(table)
        if api_log_group is not None:
            for event, metric_name in REJECTED_NOTIFIES.items():
                self._rejected_notifies(api_log_group, event, metric_name)
        if waf_rate_rule is not None:
            self._waf_rate_blocks(*waf_rate_rule)
        if export_schedule_group is not None:
            self._exports_not_started(export_schedule_group)

    def _alarm(self, construct_id, name, description, metric, threshold, *,
               comparison=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
               evaluation_periods=1, datapoints_to_alarm=1):
        alarm = cloudwatch.Alarm(
            self, construct_id, alarm_name=f"yutang-{self.brand.id}-{name}",
            alarm_description=description, metric=metric, threshold=threshold,
            comparison_operator=comparison, evaluation_periods=evaluation_periods,
            datapoints_to_alarm=datapoints_to_alarm,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING)
        alarm.add_alarm_action(actions.SnsAction(self.topic))
        alarm.add_ok_action(actions.SnsAction(self.topic))
        self.alarms.append(alarm)
        return alarm

    def _api_5xx(self, api_name, api_stage):
        dimensions = {"ApiName": api_name, "Stage": api_stage}
        errors = cloudwatch.Metric(namespace="AWS/ApiGateway", metric_name="5XXError",
                                   dimensions_map=dimensions, statistic="Sum", period=PERIOD)
        requests = cloudwatch.Metric(namespace="AWS/ApiGateway", metric_name="Count",
                                     dimensions_map=dimensions, statistic="Sum", period=PERIOD)
        rate = cloudwatch.MathExpression(
            expression=f"IF(requests >= {MIN_REQUESTS}, errors / requests, 0)",
            using_metrics={"errors": errors, "requests": requests}, period=PERIOD,
            label="5XX share of requests")
        self._alarm("Api5xxRate", "api-5xx-rate",
                    f"More than {MAX_5XX_RATE:.0%} of the API's answers were 5XX in two of "
                    f"three 5-minute periods (periods of at least {MIN_REQUESTS} requests).",
                    rate, MAX_5XX_RATE,
                    comparison=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                    evaluation_periods=3, datapoints_to_alarm=2)

    def _function(self, logical_id, function_name):
        dimensions = {"FunctionName": function_name}
        for metric_name, what in (("Errors", "failed (an exception or a timeout)"),
                                  ("Throttles", "was throttled")):
            metric = cloudwatch.Metric(namespace="AWS/Lambda", metric_name=metric_name,
                                       dimensions_map=dimensions, statistic="Sum",
                                       period=PERIOD)
            self._alarm(f"{logical_id}{metric_name}",
                        f"{function_name.removeprefix(f'yutang-{self.brand.id}-')}-"
                        f"{metric_name.lower()}",
                        f"The Lambda function {function_name} {what} in the last 5 minutes.",
                        metric, 1)

    def _stream_behind(self, logical_id, function_name):
        metric = cloudwatch.Metric(namespace="AWS/Lambda", metric_name="IteratorAge",
                                   dimensions_map={"FunctionName": function_name},
                                   statistic="Maximum", period=PERIOD)
        minutes = int(STREAM_ITERATOR_AGE.to_minutes())
        self._alarm(f"{logical_id}IteratorAge",
                    f"{function_name.removeprefix(f'yutang-{self.brand.id}-')}-behind",
                    f"The Lambda function {function_name} was handed a record written more than "
                    f"{minutes} minutes before: it is falling behind its table's stream "
                    f"(failing batches retried, or throttled).",
                    metric, STREAM_ITERATOR_AGE.to_milliseconds())

    def _stream_batches_given_up(self, queue_name):
        metric = cloudwatch.Metric(namespace="AWS/SQS",
                                   metric_name="ApproximateNumberOfMessagesVisible",
                                   dimensions_map={"QueueName": queue_name},
                                   statistic="Maximum", period=PERIOD)
        self._alarm("StreamFailures", "stream-failures",
                    f"Lambda gave up on a batch of a table's stream: the message in {queue_name} "
                    f"names the shard and the sequence numbers, to be delivered again within "
                    f"the stream's 24 hours.", metric, 1)

    def _table_throttles(self, table):
        table_name = table.table_name
        metrics = {
            key: cloudwatch.Metric(namespace="AWS/DynamoDB", metric_name=name,
                                   dimensions_map={"TableName": table_name}, statistic="Sum",
                                   period=PERIOD)
            for key, name in (("reads", "ReadThrottleEvents"),
                              ("writes", "WriteThrottleEvents"))}
        throttles = cloudwatch.MathExpression(expression="reads + writes",
                                              using_metrics=metrics, period=PERIOD,
                                              label="Throttle events")
        short = table_name.removeprefix(self.brand.table_prefix)
        self._alarm(table.node.id + "Throttles", f"table-{short}-throttles",
                    f"DynamoDB throttled reads or writes of {table_name} in the last 5 minutes.",
                    throttles, 1)

    def _rejected_notifies(self, log_group, event, metric_name):
        metric_filter = logs.MetricFilter(
            self, metric_name + "Filter", log_group=log_group,
            filter_pattern=logs.FilterPattern.literal(f'{{ $.event = "{event}" }}'),
            metric_namespace=self.namespace, metric_name=metric_name, metric_value="1")
        metric = metric_filter.metric(statistic="Sum", period=PERIOD)
        self._alarm(metric_name, event.replace("_", "-"),
                    f"The API refused a notify that failed verification ({event} in its "
                    f"logs): a forged or misrouted WeChat Pay callback, or a key mismatch.",
                    metric, 1)

    def _waf_rate_blocks(self, web_acl_name, rule_metric_name):
        metric = cloudwatch.Metric(
            namespace="AWS/WAFV2", metric_name="BlockedRequests",
            dimensions_map={"WebACL": web_acl_name, "Rule": rule_metric_name,
                            "Region": self.brand.region},
            statistic="Sum", period=PERIOD)
        self._alarm("WafRateBlocks", "waf-rate-blocks",
                    f"The WAF's per-IP rule blocked at least {WAF_BLOCKED_REQUESTS} requests in "
                    "5 minutes: a flood or a scraper, or many shoppers behind one address "
                    "(see the aws-waf-logs- log group; the brand's waf_ip_requests_per_5min).",
                    metric, WAF_BLOCKED_REQUESTS)

    def _exports_not_started(self, schedule_group):
        metric = cloudwatch.Metric(namespace="AWS/Scheduler",
                                   metric_name="InvocationDroppedCount",
                                   dimensions_map={"ScheduleGroup": schedule_group},
                                   statistic="Sum", period=PERIOD)
        self._alarm("ExportsNotStarted", "exports-not-started",
                    f"A daily export for the analysts was not started: Scheduler gave up "
                    f"calling ExportTableToPointInTime for a schedule of {schedule_group} "
                    f"(the analysts' tables miss that day; its schedule names the table).",
                    metric, 1)

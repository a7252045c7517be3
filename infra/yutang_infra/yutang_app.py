"""What the stack reads from the Yutang app itself, so nothing is described twice: its tables
(the PynamoDB models' own schemas and streams), its Lambda functions (the Chalice app's
registrations: the API, each schedule, each table's stream function, and how Lambda delivers a
stream to it), the tables exported for the analysts, and its production stage (the
`brand-template` stage of `.chalice/config.json`).
"""
import json
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
TEMPLATE_STAGE = "brand-template"
SECRET_SUFFIX = "_SECRET_ID"


def _importable():
    root = str(ROOT)
    if root in sys.path:
        sys.path.remove(root)
    sys.path.insert(0, root)


def chalice_app():
    """The app's Chalice object (importing app.py imports no heavy library)."""
    _importable()
    import app

    if Path(app.__file__).resolve() != ROOT / "app.py":
        raise RuntimeError(f"imported {app.__file__} as the Yutang app, not {ROOT / 'app.py'}")
    return app.app


def models():
    _importable()
    from chalicelib.tables import all_models

    return all_models()


def analyst_exports():
    """The tables (Meta.table) exported daily for the analysts."""
    _importable()
    from chalicelib.tables import ANALYST_EXPORTS

    return ANALYST_EXPORTS


@dataclass(frozen=True)
class TableSpec:
    """One model's table, from `model._get_schema()`."""
    model: type
    table: str              # the name without the prefix: Meta.table
    key_schema: list
    attribute_definitions: list
    global_indexes: list
    local_indexes: list
    ttl_attribute: object   # the DynamoDB name of the model's TTLAttribute, or None
    stream_view_type: object = None  # the model's Meta.stream_view_type: its table streams

    def name(self, prefix):
        return prefix + self.table


def table_spec(model):
    from pynamodb.attributes import TTLAttribute

    schema = model._get_schema()
    ttl = [attribute.attr_name for attribute in model.get_attributes().values()
           if isinstance(attribute, TTLAttribute)]
    if len(ttl) > 1:
        raise ValueError(f"{model.__name__} has more than one TTLAttribute: {ttl}")
    return TableSpec(model=model, table=model.Meta.table,
                     key_schema=_hash_first(schema["key_schema"]),
                     attribute_definitions=list(schema["attribute_definitions"]),
                     global_indexes=list(schema["global_secondary_indexes"]),
                     local_indexes=list(schema["local_secondary_indexes"]),
                     ttl_attribute=ttl[0] if ttl else None,
                     stream_view_type=getattr(model.Meta, "stream_view_type", None))


def _hash_first(key_schema):
    """DynamoDB wants the HASH key before the RANGE key (PynamoDB sorts them the same way
    when it creates a table)."""
    return sorted(key_schema, key=lambda key: key["KeyType"])


def table_specs():
    specs = [table_spec(model) for model in models()]
    names = [spec.table for spec in specs]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ValueError(f"two models share a table: {duplicates}")
    return specs


@dataclass(frozen=True)
class FunctionSpec:
    logical_id: str     # the resource's logical id in Chalice's SAM template
    name: str           # a short name: `api`, or the scheduled function's name
    schedule: object    # the schedule expression (`rate(...)`/`cron(...)`), or None
    entries: tuple = ()  # the code it runs ("module.function"): its handler, or every route
    stream: object = None  # the table (Meta.table) whose stream invokes it, or None

    @property
    def is_job(self):
        return self.schedule is not None

    @property
    def stream_event(self):
        """The name of its stream's event in Chalice's SAM template (the event source mapping
        SAM makes of it)."""
        from chalice.utils import to_cfn_resource_name

        return to_cfn_resource_name(self.name + "-dynamodb-event-source")


def function_specs(app):
    """Every Lambda function Chalice makes for the app: the API handler and one per event
    source (each `@app.schedule`, each `@app.on_dynamodb_record`) or plain
    `@app.lambda_function`."""
    from chalice.app import DynamoDBEventConfig, ScheduledEventConfig
    from chalice.utils import to_cfn_resource_name

    from chalicelib.db.streams import table_of

    if app.websocket_handlers:
        raise NotImplementedError("the stack has no place yet for Chalice's websocket API")
    specs = []
    if app.routes:
        views = {f"{entry.view_function.__module__}.{entry.view_function.__name__}"
                 for methods in app.routes.values() for entry in methods.values()}
        # The app's own middleware: the suite adds one of its own, which is never deployed.
        middleware = {f"{handler.__module__}.{handler.__name__}"
                      for handler, _ in app.middleware_handlers
                      if handler.__module__.split(".")[0] in ("app", "chalicelib")}
        specs.append(FunctionSpec("APIHandler", "api", None, tuple(sorted(views | middleware))))
    for source in app.event_sources:
        schedule = stream = None
        if isinstance(source, ScheduledEventConfig):
            expression = source.schedule_expression
            schedule = expression if isinstance(expression, str) else expression.to_string()
        elif isinstance(source, DynamoDBEventConfig):
            stream = table_of(source.stream_arn)
        specs.append(FunctionSpec(to_cfn_resource_name(source.name), source.name, schedule,
                                  (source.handler_string,), stream))
    for function in app.pure_lambda_functions:
        specs.append(FunctionSpec(to_cfn_resource_name(function.name), function.name, None,
                                  (function.handler_string,)))
    return specs


@dataclass(frozen=True)
class StreamDelivery:
    """How Lambda delivers a table's stream to its function (chalicelib/jobs/streams.py)."""
    batch_size: int
    retry_attempts: int
    max_record_age_s: int


def stream_delivery():
    _importable()
    from chalicelib.jobs import streams

    return StreamDelivery(streams.BATCH_SIZE, streams.RETRY_ATTEMPTS, streams.MAX_RECORD_AGE_S)


def callback_paths(app):
    """The routes WeChat's servers call (pay and refund notifies): they take WeChat Pay's
    XML, where every other route takes JSON or CSV from a person."""
    return sorted(path for path, methods in app.routes.items()
                  if any("text/xml" in entry.content_types for entry in methods.values()))


def brand_template():
    config = json.loads((ROOT / ".chalice" / "config.json").read_text(encoding="utf-8"))
    return config["stages"][TEMPLATE_STAGE]


def stage_config(brand, role_arn):
    """The brand's Chalice stage: the `brand-template` stage with the brand's values, the
    table prefix and public URL, and the role made by the stack (Chalice makes none)."""
    template = brand_template()
    config = {key: value for key, value in template.items() if not key.startswith("_")}
    values = {"YUTANG_STAGE": brand.id, "BRAND_ID": brand.id,
              "WECHAT_APP_ID": brand.wechat_app_id, "WECHAT_MCH_ID": brand.wechat_mch_id}
    secrets = {key.upper() + SECRET_SUFFIX: name for key, name in brand.secrets.items()}
    wanted = {name for name in template["environment_variables"]
              if name.endswith(SECRET_SUFFIX)}
    if set(secrets) != wanted:
        expected = sorted(name[:-len(SECRET_SUFFIX)].lower() for name in wanted)
        raise ValueError(f"brand {brand.id}: secrets must name exactly {expected} (the "
                         f"*{SECRET_SUFFIX} variables of the {TEMPLATE_STAGE} stage)")
    values.update(secrets)
    environment = {}
    for name, value in template["environment_variables"].items():
        if name in values:
            environment[name] = values[name]
        elif "<" in str(value):
            raise ValueError(f"the {TEMPLATE_STAGE} stage sets {name} to the placeholder "
                             f"{value!r}, which infra/ does not know how to fill")
        else:
            environment[name] = value
    environment["TABLE_PREFIX"] = brand.table_prefix
    environment["PUBLIC_API_URL"] = brand.public_api_url
    if brand.brand_name:
        environment["BRAND_NAME"] = brand.brand_name
    config["environment_variables"] = environment
    config.update(xray=True, manage_iam_role=False, iam_role_arn=role_arn,
                  autogen_policy=False)
    return config

#!/usr/bin/env python3
"""The CDK app: one stack, `Yutang-<brand>`, per brand config in infra/brands/<brand>.json.

BRAND picks the brands to synthesize (`demo`, or `demo,acme`; `all` for every config):
each brand's stack packages the Chalice app, so only the brands asked for are built.
Run by `make synth BRAND=<brand>` (templates in infra/cdk.out/, no AWS call) and by
`make deploy BRAND=<brand>` through the CDK CLI (infra/cdk.json).

cdk-nag's AWS Solutions checks run on every synthesis: an unacknowledged finding fails it,
and every acknowledgment in yutang_infra/ says why.
"""
import os
import shutil
import sys
import tempfile
from pathlib import Path

INFRA = Path(__file__).resolve().parent
sys.path.insert(0, str(INFRA))

from aws_cdk import App, Environment, Validations  # noqa: E402
from cdk_nag import AwsSolutionsChecks  # noqa: E402

from yutang_infra import brands, yutang_app  # noqa: E402
from yutang_infra.stack import YutangStack  # noqa: E402


def selected_brands(app):
    wanted = os.environ.get("BRAND") or app.node.try_get_context("brand")
    if not wanted:
        raise SystemExit("say which brand: BRAND=<brand> (or -c brand=<brand>); brands: "
                         + ", ".join(brands.brand_ids()))
    if wanted == "all":
        return [brands.load(brand_id) for brand_id in brands.brand_ids()]
    return [brands.load(brand_id.strip()) for brand_id in wanted.split(",") if brand_id.strip()]


def checked_app(outdir):
    """An App whose synthesis fails on any cdk-nag AWS Solutions finding not acknowledged."""
    app = App(outdir=str(outdir))
    Validations.of(app).add_plugins(AwsSolutionsChecks(app, verbose=True))
    return app


def main():
    # Under the CDK CLI, CDK_OUTDIR says where; run directly, the templates go to infra/cdk.out.
    run_by_cli = "CDK_OUTDIR" in os.environ
    outdir = Path(os.environ.get("CDK_OUTDIR") or INFRA / "cdk.out").resolve()
    if not run_by_cli and outdir.exists():
        shutil.rmtree(outdir)   # no stale templates or assets of an earlier synthesis
    app = checked_app(outdir)
    try:
        chosen = selected_brands(app)
    except brands.BrandError as error:
        raise SystemExit(f"error: {error}") from None
    tables = yutang_app.table_specs()
    functions = yutang_app.function_specs(yutang_app.chalice_app())
    # Chalice's construct packages the app into ./chalice.out: a scratch folder of our own.
    scratch = tempfile.mkdtemp(prefix="yutang-chalice-")
    cwd = os.getcwd()
    os.chdir(scratch)
    try:
        for brand in chosen:
            YutangStack(app, brand, tables, functions,
                        env=Environment(account=brand.account, region=brand.region))
        app.synth()
    finally:
        os.chdir(cwd)
        shutil.rmtree(scratch, ignore_errors=True)
    if not run_by_cli:
        print(f"synthesized {', '.join(brand.stack_name for brand in chosen)} into {outdir}")


if __name__ == "__main__":
    main()

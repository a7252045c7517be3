"""`make bench [SCENARIO=name]`: runs the scenarios, prints a table, writes bench-results.json
(one object: figure name, unit in the name -> number)."""
import argparse
import importlib
import json
import sys

from devtools.processes import ROOT

SCENARIOS = {
    "checkout": "bench.checkout",
    "cold_start": "bench.cold_start",
    "flash_sale": "bench.flash_sale",
    "live": "bench.live",
    "group_buy": "bench.group_buy",
    "handler": "bench.handler",
    "members": "bench.members",
    "reactivation": "bench.reactivation",
    "reports": "bench.reports",
    "stores": "bench.stores",
}
RESULTS = ROOT / "bench-results.json"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scenario", choices=sorted(SCENARIOS))
    args = parser.parse_args(argv)
    names = [args.scenario] if args.scenario else list(SCENARIOS)

    measured = {}
    for name in names:
        print(f"running {name} …", flush=True)
        measured.update(importlib.import_module(SCENARIOS[name]).run())

    width = max(map(len, measured))
    print(f"\n{'figure':<{width}}  value")
    for figure, value in sorted(measured.items()):
        print(f"{figure:<{width}}  {value}")
    # A single scenario's run keeps the other scenarios' last figures in the file.
    figures = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    figures.update(measured)
    RESULTS.write_text(json.dumps(figures, indent=2, sort_keys=True) + "\n")
    print(f"\nwritten to {RESULTS.name}")


if __name__ == "__main__":
    sys.exit(main())

"""`python -m devtools.import_members FILE.csv`: imports a POS/CRM export of any size against
the configured tables (DynamoDB Local under `make run`, or a brand's tables on AWS with that
stage's environment), printing progress and then the report."""
import json
import sys


def main(argv):
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    from chalicelib.members.importer import import_members

    with open(argv[0], "rb") as export:
        data = export.read()

    def progress(done, total):
        print(f"\r{done:,} / {total:,} rows written", end="", file=sys.stderr, flush=True)

    report = import_members(data, progress=progress)
    print(file=sys.stderr)
    print(json.dumps(report, ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

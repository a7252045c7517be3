"""One way to read a member: outside members/ a member is read through its service functions
(members.reading.get_member follows a phone merge), never through the Member model."""
import re
from pathlib import Path

CHALICELIB = Path(__file__).resolve().parents[2] / "chalicelib"
MODEL_IMPORT = re.compile(r"from chalicelib\.members\.models import ([^\n]+)")
# The table registry lists every model.
NOT_YET = ("tables.py",)


def test_no_domain_but_members_reads_the_member_model():
    readers = []
    for path in sorted(CHALICELIB.rglob("*.py")):
        name = path.relative_to(CHALICELIB).as_posix()
        if name.startswith("members/") or name.startswith(NOT_YET):
            continue
        for imported in MODEL_IMPORT.findall(path.read_text()):
            if re.search(r"\bMember\b", imported):
                readers.append(name)

    assert readers == []

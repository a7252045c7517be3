"""Importing members from a store POS/CRM export (CSV).

Columns: phone, name, level, points, store_id, joined_on (YYYY-MM-DD); only phone is required.
Each row is checked on its own: a bad row is reported with its row number and the good rows
still land (the report lists the first MAX_REJECTED_LISTED bad rows and counts them all). A
phone that is already a member is left alone, so importing the same file twice changes
nothing. Rows are written with batch writes, several batches at a time.
"""
import csv
import hashlib
import hmac
import io
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone

from chalicelib.config import settings
from chalicelib.core.clock import clock as system_clock
from chalicelib.errors import DomainError
from chalicelib.members import imported, points
from chalicelib.members import program as loyalty_program
from chalicelib.members import rules
from chalicelib.members.models import Member, PhoneClaim, PointsEntry

COLUMNS = ("phone", "name", "level", "points", "store_id", "joined_on")
CHUNK_ROWS = 100  # one BatchGet of phone claims
WORKERS = 8
MAX_POINTS = 100_000_000
MAX_REJECTED_LISTED = 100
MAX_SHOWN_CHARS = 40  # of a rejected value, in the report
MAX_STORE_ID_CHARS = 64
# ASCII digits only: str.isdigit() takes ² (which int() refuses), int() takes １２ and ٣.
_PHONE = re.compile(r"1[3-9][0-9]{9}")
_POINTS = re.compile(r"[0-9]{1,9}")


@dataclass
class ImportReport:
    rows: int = 0
    imported: int = 0
    already_members: int = 0
    rejected: list = field(default_factory=list)
    rejected_count: int = 0

    def reject(self, row, phone, error):
        self.rejected_count += 1
        if len(self.rejected) < MAX_REJECTED_LISTED:
            self.rejected.append({"row": row, "phone": phone and phone[:MAX_SHOWN_CHARS],
                                  "error": error})

    def as_dict(self):
        return {"rows": self.rows, "imported": self.imported,
                "already_members": self.already_members, "rejected": self.rejected,
                "rejected_count": self.rejected_count}


def _shown(value):
    """A rejected value as the report quotes it: cut short, so a huge cell stays small."""
    text = repr(value)
    return text if len(text) <= MAX_SHOWN_CHARS else text[:MAX_SHOWN_CHARS - 1] + "…"


def normalise_phone(text):
    digits = re.sub(r"[\s-]", "", text or "")
    return digits[3:] if digits.startswith("+86") else digits


def imported_member_id(phone):
    """Fixed per phone, so a retried import writes the same member rather than a second one,
    and keyed, so that nobody without the stack's TOKEN_SECRET can compute it from the phone
    (or try every phone to find whose it is)."""
    from chalicelib.config import settings

    key = hmac.new(settings.token_secret.encode(), b"imported member ids", hashlib.sha256)
    return "m_imp_" + hmac.new(key.digest(), phone.encode(), hashlib.sha256).hexdigest()[:24]


def _decode(data):
    if isinstance(data, str):
        return data
    for encoding in ("utf-8-sig", "gb18030"):  # Chinese POS exports are often GBK
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ValueError("the file is neither UTF-8 nor GBK text")


def _check_row(raw, level_codes, store_ids):
    """(row dict, None) or (None, error message)."""
    phone = normalise_phone(raw.get("phone"))
    if not _PHONE.fullmatch(phone):
        return None, f"phone {_shown(raw.get('phone'))} is not a mainland mobile number"
    name = (raw.get("name") or "").strip()
    if len(name) > 32:
        return None, "name is longer than 32 characters"
    level = (raw.get("level") or "").strip() or None
    if level and level not in level_codes:
        return None, f"level {_shown(level)} is not one of {', '.join(level_codes)}"
    points_text = (raw.get("points") or "0").strip(" \t")
    if not _POINTS.fullmatch(points_text) or int(points_text) > MAX_POINTS:
        return None, f"points {_shown(points_text)} is not a whole number from 0 to {MAX_POINTS}"
    store_id = (raw.get("store_id") or "").strip() or None
    if store_id and store_id not in store_ids:
        return None, f"store {_shown(store_id)} does not exist"
    joined_text = (raw.get("joined_on") or "").strip()
    joined_at = None
    if joined_text:
        try:
            joined_at = datetime.strptime(joined_text, "%Y-%m-%d").replace(tzinfo=timezone.utc)
        except ValueError:
            return None, f"joined_on {_shown(joined_text)} is not a date like 2024-03-01"
    return {"phone": phone, "name": name or None, "level": level, "points": int(points_text),
            "store_id": store_id, "joined_at": joined_at}, None


def _existing_stores(rows):
    from chalicelib.catalog.stores import get_stores

    # Longer ids name no store, and DynamoDB would refuse them as keys.
    wanted = {store_id for store_id in ((row.get("store_id") or "").strip() for row in rows)
              if 0 < len(store_id) <= MAX_STORE_ID_CHARS}
    return {store.store_id for store in get_stores(list(wanted))} if wanted else set()


def _items_for(row, now, program):
    member_id = imported_member_id(row["phone"])
    level_code = rules.level_for(0, program, row["level"])["code"]
    member = Member(member_id, phone=row["phone"], name=row["name"], source="import",
                    home_store_id=row["store_id"], assigned_level=row["level"],
                    level=level_code, created_at=now, joined_at=row["joined_at"] or now,
                    points_balance=row["points"], points_seq=1 if row["points"] else 0)
    items = [member]
    if row["points"]:
        expires_at = rules.credit_expiry(now, program)
        # The opening entry of a new member's ledger; the phone claim, not a marker, is what
        # keeps a second import from crediting it again.
        items.append(PointsEntry(member_id, 1, delta=row["points"], balance_after=row["points"],
                                 source="import", source_id=row["phone"], created_at=now,
                                 expires_at=expires_at,
                                 expiry_day=points.expiry_key(expires_at, member_id),
                                 note="balance brought over from the store system"))
    return items


def _write(models_items):
    by_model = {}
    for item in models_items:
        by_model.setdefault(type(item), []).append(item)
    for model, items in by_model.items():
        with model.batch_write() as batch:
            for item in items:
                batch.save(item)


def _import_chunk(rows, now, program):
    """Writes the rows whose phone is not a member yet; returns how many it wrote."""
    claimed = {claim.phone for claim in PhoneClaim.batch_get([row["phone"] for row in rows])}
    new_rows = [row for row in rows if row["phone"] not in claimed]
    # Members first, claims last: until its claim exists an imported member is unreachable,
    # so a crash in between leaves nothing half-visible and a re-run completes it.
    _write([item for row in new_rows for item in _items_for(row, now, program)])
    _write([PhoneClaim(row["phone"], member_id=imported_member_id(row["phone"]))
            for row in new_rows])
    imported.written([(imported_member_id(row["phone"]), row["store_id"])
                      for row in new_rows], now)
    return len(new_rows)


def import_members(data, clock=system_clock, progress=None, max_rows=None):
    """Imports a CSV (text or bytes). progress(done_rows, total_rows) is called as it goes.
    With more than `max_rows` rows, nothing is imported (DomainError payload_too_large)."""
    now = clock.now()
    report = ImportReport()
    try:
        reader = csv.DictReader(io.StringIO(_decode(data)))
        raw_rows = list(reader)
    except (ValueError, csv.Error) as exc:
        report.reject(1, None, f"unreadable file: {exc}")
        return report.as_dict()
    if "phone" not in (reader.fieldnames or []):
        report.reject(1, None, f"the header must name the columns {', '.join(COLUMNS)}")
        return report.as_dict()
    if max_rows is not None and len(raw_rows) > max_rows:
        raise DomainError("payload_too_large", f"Upload at most {max_rows:,} rows; split the "
                                               "file or use the import command.")

    program = loyalty_program.current()
    level_codes = [level["code"] for level in program["levels"]]
    store_ids = _existing_stores(raw_rows)
    first_row_of_phone, good = {}, []
    for number, raw in enumerate(raw_rows, start=2):  # row 1 is the header
        report.rows += 1
        row, error = _check_row(raw, level_codes, store_ids)
        if row and row["phone"] in first_row_of_phone:
            row, error = None, f"phone repeats row {first_row_of_phone[row['phone']]}"
        if error:
            report.reject(number, raw.get("phone"), error)
            continue
        first_row_of_phone[row["phone"]] = number
        good.append(row)

    chunks = [good[start:start + CHUNK_ROWS] for start in range(0, len(good), CHUNK_ROWS)]
    done = 0
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        for chunk, written in zip(chunks, pool.map(lambda c: _import_chunk(c, now, program),
                                                    chunks)):
            report.imported += written
            report.already_members += len(chunk) - written
            done += len(chunk)
            if progress:
                progress(done, len(good))
    return report.as_dict()


MAX_UPLOAD_BYTES = 5 * 1024 * 1024


def import_members_upload(body):
    """An upload through the admin API: files up to 5 MB and MEMBER_IMPORT_MAX_ROWS rows;
    larger exports go through `python -m devtools.import_members FILE`, which reports
    progress as it runs."""
    size = len(body.encode("utf-8") if isinstance(body, str) else body)
    if size > MAX_UPLOAD_BYTES:
        raise DomainError("payload_too_large",
                          "Upload at most 5 MB; split the file or use the import command.")
    return import_members(body, max_rows=settings.member_import_max_rows)

"""The brand's loyalty program (levels, points rates and caps, validity), stored as one
document and falling back to the defaults until ops configure it."""
import json

from pynamodb.exceptions import DoesNotExist

from chalicelib.core.clock import clock as system_clock
from chalicelib.errors import DomainError
from chalicelib.members import rules
from chalicelib.db.settings import BrandSetting

KEY = "loyalty-program"


def current():
    try:
        return json.loads(BrandSetting.get(KEY).document)
    except DoesNotExist:
        return rules.DEFAULT_PROGRAM


def replace(program, admin_id, clock=system_clock):
    try:
        rules.check_program(program)
    except rules.ProgramError as exc:
        raise DomainError("validation_error", str(exc)) from None
    BrandSetting(KEY, document=json.dumps(program, ensure_ascii=False),
                 updated_at=clock.now(), updated_by=admin_id).save()
    return program

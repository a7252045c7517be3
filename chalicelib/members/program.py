"""The brand's loyalty program (levels, points rates and caps, validity), stored as one
document and falling back to the defaults until ops configure it."""
from chalicelib.core.clock import clock as system_clock
from chalicelib.db import settings
from chalicelib.errors import DomainError
from chalicelib.members import rules

KEY = "loyalty-program"


def current():
    return settings.read(KEY, default=rules.DEFAULT_PROGRAM)


def replace(program, admin_id, clock=system_clock):
    try:
        rules.check_program(program)
    except rules.ProgramError as exc:
        raise DomainError("validation_error", str(exc)) from None
    settings.write(KEY, program, clock.now(), by=admin_id)
    return program

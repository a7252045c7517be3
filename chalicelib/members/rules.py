"""Loyalty rules as plain functions: no I/O, so they are easy to test and to reuse at checkout.

Points and fen are integers. The program (levels, rates, caps) is a dict as stored per brand.
"""
from datetime import timedelta

DEFAULT_PROGRAM = {
    # Growth needed for each level, lowest first; benefits per level.
    "levels": [
        {"code": "silver", "name": "银卡", "min_growth": 0, "discount_percent": 0,
         "points_multiplier_percent": 100},
        {"code": "gold", "name": "金卡", "min_growth": 1000, "discount_percent": 5,
         "points_multiplier_percent": 150},
        {"code": "black", "name": "黑金", "min_growth": 5000, "discount_percent": 10,
         "points_multiplier_percent": 200},
    ],
    "growth_per_yuan": 1,
    "points_per_yuan_spent": 1,
    "points_per_yuan_deduction": 100,   # 100 points pay 1 yuan (100 fen)
    "max_points_payment_percent": 50,   # points pay at most half of an order
    "points_validity_days": 365,
}

PROGRAM_SCHEMA = {
    "type": "object",
    "properties": {
        "levels": {
            "type": "array", "minItems": 1, "maxItems": 20,
            "items": {
                "type": "object",
                "properties": {
                    "code": {"type": "string", "pattern": "^[a-z0-9_-]{1,32}$"},
                    "name": {"type": "string", "minLength": 1, "maxLength": 20},
                    "min_growth": {"type": "integer", "minimum": 0},
                    "discount_percent": {"type": "integer", "minimum": 0, "maximum": 90},
                    "points_multiplier_percent": {"type": "integer", "minimum": 0,
                                                  "maximum": 1000},
                },
                "required": ["code", "name", "min_growth", "discount_percent",
                             "points_multiplier_percent"],
                "additionalProperties": False,
            },
        },
        "growth_per_yuan": {"type": "integer", "minimum": 0, "maximum": 100},
        "points_per_yuan_spent": {"type": "integer", "minimum": 0, "maximum": 100},
        "points_per_yuan_deduction": {"type": "integer", "minimum": 1, "maximum": 10000},
        "max_points_payment_percent": {"type": "integer", "minimum": 0, "maximum": 100},
        "points_validity_days": {"type": "integer", "minimum": 1, "maximum": 3650},
    },
    "required": list(DEFAULT_PROGRAM),
    "additionalProperties": False,
}


class ProgramError(ValueError):
    pass


def check_program(program):
    """Rules JSON Schema cannot say: the lowest level starts at 0, thresholds rise, codes are
    unique."""
    levels = program["levels"]
    if levels[0]["min_growth"] != 0:
        raise ProgramError("The first level must start at growth 0.")
    thresholds = [level["min_growth"] for level in levels]
    if thresholds != sorted(set(thresholds)):
        raise ProgramError("Level thresholds must rise strictly from one level to the next.")
    if len({level["code"] for level in levels}) != len(levels):
        raise ProgramError("Level codes must be unique.")
    return program


def level_for(growth, program, assigned_level=None):
    """The highest level the growth reaches, or the assigned level if that one is higher."""
    levels = program["levels"]
    reached = max(index for index, level in enumerate(levels) if growth >= level["min_growth"])
    codes = [level["code"] for level in levels]
    if assigned_level in codes:
        reached = max(reached, codes.index(assigned_level))
    return levels[reached]


def growth_for_payment(amount_fen, program):
    return amount_fen * program["growth_per_yuan"] // 100


def points_for_payment(amount_fen, level, program):
    base = amount_fen * program["points_per_yuan_spent"] // 100
    return base * level["points_multiplier_percent"] // 100


def credit_expiry(earned_at, program):
    return earned_at + timedelta(days=program["points_validity_days"])


def expired_points_due(credits_expired_by_now, debits_other_than_expiry, already_expired):
    """Points to expire now. Spends use the oldest points first, so of the credits that have
    reached their expiry, whatever the spends have not used is what lapses."""
    return max(0, credits_expired_by_now - debits_other_than_expiry - already_expired)

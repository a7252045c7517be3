import pytest

from chalicelib.members.importer import imported_member_id
from chalicelib.members.privacy import masked_phone


@pytest.mark.parametrize("phone, seen", [("13812345678", "138****5678"),
                                         ("85291234567", "852****4567"),
                                         ("61234567", "612*4567"), ("1234567", "*******"),
                                         (None, None)])
def test_a_masked_phone_keeps_the_first_three_and_last_four_digits(phone, seen):
    assert masked_phone(phone) == seen


def test_an_imported_id_is_fixed_per_phone_and_keyed_by_the_stack_secret(monkeypatch):
    monkeypatch.setenv("TOKEN_SECRET", "one-stack")
    first = imported_member_id("13812345678")
    assert imported_member_id("13812345678") == first
    assert imported_member_id("13812345679") != first

    monkeypatch.setenv("TOKEN_SECRET", "another-stack")
    assert imported_member_id("13812345678") != first

"""The brand's floor under promotion prices: a percent of the SKU's brand price, rounded up
to the fen, and only for prices below the brand's."""
from chalicelib.promotions import listings as promotions


def test_the_floor_is_the_percent_of_the_brand_price_rounded_up_to_the_fen():
    assert promotions.floor_fen(10_000, 50) == 5_000
    assert promotions.floor_fen(999, 50) == 500  # 499.5
    assert promotions.floor_fen(333, 33) == 110  # 109.89
    assert promotions.floor_fen(1, 1) == 1
    assert promotions.floor_fen(12_345, 100) == 12_345


def test_only_a_price_below_the_brands_and_under_the_floor_is_refused():
    assert promotions.below_floor(4_999, 10_000, 50) == 5_000
    assert promotions.below_floor(5_000, 10_000, 50) is None
    assert promotions.below_floor(99, 10_000, 1) == 100
    assert promotions.below_floor(10_000, 10_000, 100) is None
    assert promotions.below_floor(12_000, 10_000, 100) is None  # above the brand's price
    assert promotions.below_floor(9_999, 10_000, 100) == 10_000

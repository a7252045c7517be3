"""Geohash cells and distances: the nearest-store search reads the 3×3 block of cells around
the shopper, so its cost follows the stores nearby, never the stores in other cities."""
import math

_BASE32 = "0123456789bcdefghjkmnpqrstuvwxyz"
EARTH_RADIUS_M = 6_371_000

METRES_PER_DEGREE = 111_195
# Cell size in degrees (lat, lng) by precision: about 4.9 km and 20-39 km across.
CELL_DEGREES = {5: (180 / 2 ** 12, 360 / 2 ** 13), 4: (180 / 2 ** 10, 360 / 2 ** 10)}
PRECISIONS = (5, 4)  # finest first


def encode(lat, lng, precision):
    lat_range, lng_range = [-90.0, 90.0], [-180.0, 180.0]
    bits, even, cell = 0, True, ""
    for bit_index in range(precision * 5):
        target, value = (lng_range, lng) if even else (lat_range, lat)
        middle = (target[0] + target[1]) / 2
        bits <<= 1
        if value >= middle:
            bits |= 1
            target[0] = middle
        else:
            target[1] = middle
        even = not even
        if bit_index % 5 == 4:
            cell += _BASE32[bits]
            bits = 0
    return cell


def block_around(lat, lng, precision):
    """The cell of the point and its eight neighbours."""
    height, width = CELL_DEGREES[precision]
    return sorted({encode(lat + dy * height, lng + dx * width, precision)
                   for dy in (-1, 0, 1) for dx in (-1, 0, 1)})


def covered_radius_m(lat, precision):
    """Every point this close is inside the 3×3 block around a point at this latitude: the
    block reaches at least one whole cell beyond the centre cell on every side."""
    height, width = CELL_DEGREES[precision]
    shortest = min(height, width * math.cos(math.radians(abs(lat))))
    return int(shortest * METRES_PER_DEGREE)


def precision_for(lat, radius_m):
    """The finest precision whose block covers the radius, or None if none does."""
    for precision in PRECISIONS:
        if radius_m <= covered_radius_m(lat, precision):
            return precision
    return None


def distance_m(lat1, lng1, lat2, lng2):
    """Great-circle distance (haversine), whole metres."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi, dlmb = phi2 - phi1, math.radians(lng2 - lng1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlmb / 2) ** 2
    return round(2 * EARTH_RADIUS_M * math.asin(math.sqrt(a)))

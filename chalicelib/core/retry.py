"""Trying again after a lost race: the one backoff every retry loop uses.

`for attempt in attempts(20):` yields 0 … 19 and, before each try after the first, sleeps a
random while up to a doubling bound (full jitter: racers spread out rather than collide again
in step), capped so that a request never waits long on one item. The loop's body returns on
success; what follows the loop is the answer when every attempt lost."""
import random
import time

FIRST_PAUSE_S, MOST_PAUSE_S = 0.002, 0.25


def pause(attempt, first=FIRST_PAUSE_S, most=MOST_PAUSE_S):
    """Sleeps before try number attempt + 1 (attempt 0 has just failed)."""
    time.sleep(random.uniform(0, min(most, first * 2 ** attempt)))


def attempts(count, first=FIRST_PAUSE_S, most=MOST_PAUSE_S):
    for attempt in range(count):
        if attempt:
            pause(attempt - 1, first, most)
        yield attempt

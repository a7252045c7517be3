"""Who hears of the members an import writes (light: chalicelib/wiring.py installs it when the
app is imported, before any model is)."""

_counters = []  # count([(member id, home store or None)], at), set by use_counter


def use_counter(count):
    """Installs what counts the new members each import chunk wrote (the retail figures)."""
    _counters[:] = [count]


def written(members, at):
    for count in _counters:
        count(members, at)

"""The AWS clients of a process: one botocore session, and one client per service (and
endpoint), each made when first used.

Making a botocore session and a client costs a cold start about 0.1 s each (botocore reads
its endpoint and service files for them). A client is thread-safe once made; a session is not,
so clients are made under one lock.
"""
import threading

_making = threading.RLock()
_made = {}


def made_once(key, make):
    """What `make()` returned the first time it was asked for by this key, in this process."""
    found = _made.get(key)
    if found is None:
        with _making:
            found = _made.get(key)
            if found is None:
                found = _made[key] = make()
    return found


def session():
    """The process's botocore session."""
    def make():
        import botocore.session

        return botocore.session.get_session()

    return made_once("session", make)


def client(service_name, **options):
    """The process's client of an AWS service (options as botocore's create_client takes
    them: region_name, endpoint_url)."""
    return made_once(("client", service_name, *sorted(options.items())),
                     lambda: session().create_client(service_name, **options))

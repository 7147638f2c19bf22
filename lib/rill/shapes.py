"""Types and shapes of records: how build() compares them and how inbound data is checked.

A record's type is a class (int, float, str, bytes, dict, object...) or a shape: a
dict {field: type} that a dict value must have (extra fields are allowed).
"""


def type_name(t):
    if isinstance(t, dict):
        return "{" + ", ".join("%s: %s" % (k, type_name(t[k])) for k in sorted(t)) + "}"
    return getattr(t, "__name__", str(t))


def accepts(want, have):
    """Can a consumer expecting ``want`` take records of type ``have``?"""
    if want is None or have is None or want is object or want == have:
        return True
    if want is float and have is int:
        return True
    if isinstance(want, dict) and isinstance(have, dict):
        for field in want:
            if field not in have or not accepts(want[field], have[field]):
                return False
        return True
    return False


def conforms(value, spec):
    """Does ``value`` have type or shape ``spec``? Used where data enters from outside."""
    if spec is None or spec is object:
        return True
    if isinstance(spec, dict):
        if not isinstance(value, dict):
            return False
        for field in spec:
            if field not in value or not conforms(value[field], spec[field]):
                return False
        return True
    if spec is float or spec is int:  # bool is not a number here, on either runtime
        return isinstance(value, (int, spec)) and not isinstance(value, bool)
    return isinstance(value, spec)

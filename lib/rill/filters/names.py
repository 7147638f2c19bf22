"""Which module holds which filter, and filters made from chain data. Loaded for each
lookup and unloaded again (``_unload``), so none of it stays in the heap: the package's
``__getattr__`` calls ``attr``, ``chain``/``or_`` call ``make`` at construction.
"""
import sys

# "module name name ...|module ...", split only when a name is looked up
_WHERE = ("value offset multiply lambda_ clamp skip_initial"
          "|rounding round round_to_multiple_of round_to_significant_digits filter_out"
          "|change delta"
          "|calibrate calibrate_linear calibrate_polynomial"
          "|ntc to_ntc_resistance to_ntc_temperature"
          "|window sliding_window_moving_average"
          "|ema exponential_moving_average"
          "|order median quantile min max"
          "|throttles throttle throttle_with_priority throttle_average"
          "|timed heartbeat timeout debounce"
          "|lists chain or_"
          "|joins latest zip_seq tumbling")


def _unload():
    sys.modules.pop("rill.filters.names", None)
    sys.modules["rill.filters"].__dict__.pop("names", None)


def load(name):
    """The filter class called ``name`` (an ESPHome name such as "or" works too), or None."""
    name = {"lambda": "lambda_", "or": "or_"}.get(name, name)  # ESPHome names that are Python keywords
    for family in _WHERE.split("|"):
        names = family.split()
        if name in names[1:]:
            return getattr(__import__("rill.filters." + names[0], None, None, (name,)), name)
    return None


def attr(name):
    """rill.filters' ``__getattr__``: the filter class ``name``, or ``load``; unloads this module."""
    try:
        found = load if name == "load" else load(name)
    finally:
        _unload()
    if found is None:
        raise AttributeError(name)
    return found


def _make(spec):
    if callable(spec):
        return spec
    if isinstance(spec, list):
        from .lists import chain

        return chain(spec)
    if not isinstance(spec, dict) or len(spec) != 1:
        raise ValueError("a filter is a callable or a dict with one name, not %r" % (spec,))
    for name, arg in spec.items():
        cls = load(name)
        if cls is None:
            raise ValueError("no filter is named %r" % (name,))
        try:
            return cls(**arg) if isinstance(arg, dict) else cls() if arg is None else cls(arg)
        except (TypeError, ValueError) as e:
            raise ValueError("filter %r: %s" % (name, e))


def make(specs):
    """A tuple of filters from callables or ``{name: parameters}`` (a list nests a chain);
    ValueError names what is wrong. Unloads this module."""
    try:
        return tuple(_make(f) for f in specs)
    finally:
        _unload()

"""ESPHome's 27 sensor filters, with ESPHome's names, parameters and defaults, plus
windows and joins, as rill transforms: ``p.transform("smooth", median(5, 5), "raw")``.

Each filter is a callable object; returning None means "send nothing this time". Filters
that keep time or fire on their own (throttle, heartbeat, timeout...) take the
pipeline's clock through ``bind(graph, node)`` when the graph starts. Windows are
preallocated at construction. ``chain([...])`` builds a filter list from data, such as
``[{"offset": 2.0}, {"median": {"window_size": 5}}]`` from a board's config.json.

This package imports nothing until a name is asked for: ``from rill.filters import
median`` loads only the module that holds ``median``. ``lambda`` and ``or`` are Python
keywords, so their filters are ``lambda_`` and ``or_`` (``"lambda"`` and ``"or"`` in
chain data).
"""
_WHERE = {
    "offset": "value", "multiply": "value", "lambda_": "value", "filter_out": "value",
    "clamp": "value", "round": "value", "round_to_multiple_of": "value",
    "round_to_significant_digits": "value", "skip_initial": "value", "delta": "value",
    "calibrate_linear": "calibrate", "calibrate_polynomial": "calibrate",
    "to_ntc_resistance": "calibrate", "to_ntc_temperature": "calibrate",
    "sliding_window_moving_average": "window", "exponential_moving_average": "window",
    "median": "window", "quantile": "window", "min": "window", "max": "window",
    "throttle": "timed", "throttle_with_priority": "timed", "throttle_average": "timed",
    "heartbeat": "timed", "timeout": "timed", "debounce": "timed",
    "chain": "lists", "or_": "lists",
    "latest": "joins", "zip_seq": "joins", "tumbling": "joins",
}
_DATA_NAMES = {"lambda": "lambda_", "or": "or_"}  # ESPHome's names that are Python keywords


def load(name):
    """The filter class called ``name`` (an ESPHome name such as "or" works too), or None."""
    name = _DATA_NAMES.get(name, name)
    where = _WHERE.get(name)
    if where is None:
        return None
    return getattr(__import__("rill.filters." + where, None, None, (name,)), name)


def __getattr__(name):
    cls = load(name) if name in _WHERE else None
    if cls is None:
        raise AttributeError(name)
    return cls

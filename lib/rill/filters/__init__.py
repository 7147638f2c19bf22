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
# Which module holds which filter: "module name name ...|module ...". One string costs
# about 1 KB less heap than a dict; it is only read when a name is imported.
_WHERE = ("value offset multiply lambda_ filter_out clamp round round_to_multiple_of round_to_significant_digits"
          " skip_initial delta"
          "|calibrate calibrate_linear calibrate_polynomial to_ntc_resistance to_ntc_temperature"
          "|window sliding_window_moving_average exponential_moving_average median quantile min max"
          "|timed throttle throttle_with_priority throttle_average heartbeat timeout debounce"
          "|lists chain or_"
          "|joins latest zip_seq tumbling")


def load(name):
    """The filter class called ``name`` (an ESPHome name such as "or" works too), or None."""
    name = {"lambda": "lambda_", "or": "or_"}.get(name, name)  # ESPHome names that are Python keywords
    for family in _WHERE.split("|"):
        names = family.split()
        if name in names[1:]:
            return getattr(__import__("rill.filters." + names[0], None, None, (name,)), name)
    return None


def __getattr__(name):
    cls = load(name)
    if cls is None:
        raise AttributeError(name)
    return cls

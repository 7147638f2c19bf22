"""ESPHome's 27 sensor filters, with ESPHome's names, parameters and defaults, plus
windows and joins, as rill transforms: ``p.transform("smooth", median(5, 5), "raw")``.

Each filter is a callable object; returning None means "send nothing this time". Filters
that keep time or fire on their own (throttle, heartbeat, timeout...) take the
pipeline's clock through ``bind(graph, node)`` when the graph starts. Windows are
preallocated at construction. ``chain([...])`` builds a filter list from data, such as
``[{"offset": 2.0}, {"median": {"window_size": 5}}]`` from a board's config.json.

This package imports nothing until a name is asked for: ``from rill.filters import
median`` loads only the small module that holds ``median`` (rill.filters.names finds
it, and is unloaded again: the package itself is one function). ``load(name)`` gives
the filter class by name, or None. ``lambda`` and ``or`` are Python keywords, so their
filters are ``lambda_`` and ``or_`` (``"lambda"`` and ``"or"`` in chain data).
"""


def __getattr__(name):
    from .names import attr  # unloaded again by attr

    return attr(name)

"""A built graph as text (for the REPL), as Mermaid (for docs), its counters (as
``stats()``, and as numbers only for rill.status), and the dead letters as text.
Imported on demand, so it costs no heap until asked."""
from .shapes import type_name


def error_text(error):
    """An error kept as raised, as text: "Type: message" (a string stays as it is)."""
    return "%s: %s" % (type(error).__name__, error) if isinstance(error, BaseException) else error


def entries(dead):
    """``DeadLetters.entries()``: (key, value, reason text) tuples, oldest first."""
    slots, w = dead._slots, dead.width
    out = []
    for j in range(dead._head - dead.occupancy(), dead._head):  # from a negative index when wrapped
        out.append((slots[w * j], slots[w * j + 1], error_text(slots[w * j + 2])))
    return out


def reasons(dead):
    """{kind: count} of the kept entries: an error counts under its class name, a reason
    given as a string under that string. Read from the reasons as kept: no text made."""
    slots, w = dead._slots, dead.width
    out = {}
    for j in range(dead._head - dead.occupancy(), dead._head):
        why = slots[w * j + 2]
        kind = type(why).__name__ if isinstance(why, BaseException) else why
        out[kind] = out.get(kind, 0) + 1
    return out


def _buffer(buf):
    return buf.kind if buf.kind in ("latest", "mailbox") else "%s %d" % (buf.kind, buf.capacity)


def _source_how(n):
    if n.fn is None:
        return "pushed"
    return "task" if n.is_task else "every %d ms" % n.every_ms


def _text(graph):
    lines = ["pipeline %s" % graph.name]
    for key in graph.keys:
        rec = graph.records[key]
        lines.append("  record %s: %s [%s]" % (key, type_name(rec.type), _buffer(rec)))
    for n in graph.nodes:
        if n.kind == "source":
            lines.append("  source %s -> %s (%s)" % (n.name, n.out, _source_how(n)))
        elif n.kind == "transform":
            ins = ", ".join(n.inputs)
            if n.watch:
                ins += "; watches " + ", ".join(n.watch)
            lines.append("  transform %s: %s -> %s (depth %d)" % (n.name, ins, n.out, n.depth))
        else:
            lines.append("  tap %s <- %s" % (n.name, n.inputs[0]))
    return "\n".join(lines)


def describe(graph, mermaid):
    """``Graph.describe()``."""
    return _mermaid(graph) if mermaid else _text(graph)


def _mermaid(graph):
    lines = ["flowchart LR"]
    for key in graph.keys:
        rec = graph.records[key]
        lines.append('  %s[("%s: %s")]' % (key, key, type_name(rec.type)))
    for i, n in enumerate(graph.nodes):
        nid = "n%d" % i
        if n.kind == "source":
            lines.append('  %s(["%s (%s)"]) --> %s' % (nid, n.name, _source_how(n), n.out))
        elif n.kind == "transform":
            lines.append('  %s{{"%s"}} --> %s' % (nid, n.name, n.out))
            for k in n.inputs:
                lines.append("  %s --> %s" % (k, nid))
            for k in n.watch:
                lines.append("  %s -.-> %s" % (k, nid))
        else:
            lines.append('  %s --> %s>"%s"]' % (n.inputs[0], nid, n.name))
    return "\n".join(lines)


def _buffer_stats(b):
    return {"kind": b.kind, "capacity": b.capacity, "produced": b.produced,
            "consumed": b.consumed, "dropped": b.dropped, "occupancy": b.occupancy()}


def _node_stats(n):
    if n.kind == "transform":  # counted where dispatch already counts: no extra work per call
        d = {"kind": n.kind, "emitted": n.out_rec.produced, "filtered": n.filtered, "errors": n.errors}
    else:
        d = {"kind": n.kind, "runs": n.out_rec.produced if n.kind == "source" else n.runs, "errors": n.errors}
    if n.kind == "source":
        d.update(failures=n.errors, restarts=n.restarts, overruns=n.overruns)
    elif n.kind == "tap":
        d.update(lag=n.reader.lag(), missed=n.reader.missed)
    if n.error is not None:
        d["last_error"] = error_text(n.error)
    return d


def stages(graph):
    """{node name: {"calls", "errors"}}, numbers only (rill.status's record). A node's
    calls, from counters dispatch keeps anyway: a transform's results written,
    filtered and failed; a source's, its record's writes; a tap's, its runs."""
    out = {}
    for n in graph.nodes:
        if n.kind == "transform":
            calls = n.out_rec.produced + n.filtered + n.errors
        else:
            calls = n.out_rec.produced if n.kind == "source" else n.runs
        out[n.name] = {"calls": calls, "errors": n.errors}
    return out


def buffers(graph):
    """{record key: {"occupancy", "lag" (of its slowest tap), "drops"}}, numbers only."""
    lag = {}
    for n in graph.nodes:
        if n.kind == "tap":
            k = n.inputs[0]
            lag[k] = max(lag.get(k, 0), n.reader.lag())
    out = {}
    for k in graph.keys:
        b = graph.records[k]
        out[k] = {"occupancy": b.occupancy(), "lag": lag.get(k, 0), "drops": b.dropped}
    return out


def stats(graph):
    out = {"records": {}, "nodes": {}, "dead_letters": _buffer_stats(graph.dead_letters)}
    for key in graph.keys:
        out["records"][key] = _buffer_stats(graph.records[key])
    for n in graph.nodes:
        out["nodes"]["%s:%s" % (n.kind, n.name)] = _node_stats(n)
    return out

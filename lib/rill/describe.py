"""Render a built graph as text (for the REPL) or Mermaid (for docs). Imported on demand."""
from .graph import type_name


def _buffer(buf):
    return buf.kind if buf.kind in ("latest", "mailbox") else "%s %d" % (buf.kind, buf.capacity)


def _source_how(n):
    if n.fn is None:
        return "pushed"
    return "task" if n.is_task else "every %d ms" % n.every_ms


def text(graph):
    lines = ["pipeline %s" % graph.name]
    for key in graph.keys:
        rec = graph.records[key]
        lines.append("  record %s: %s [%s]" % (key, type_name(rec.type), _buffer(rec.buffer)))
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


def mermaid(graph):
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

"""Build-time: compile the plans rill.codegen wrote, once it is unloaded, so that the
compiler has that room too; then this module unloads itself.

Each is compiled as ``@micropython.native`` where the port can (the unix port, ESP32,
RP2040), as bytecode where it cannot (no native emitter, or no memory for native code).
"""
import sys

import micropython

_scope = {"micropython": micropython}  # the compiled functions' globals: one dict for all


def load(graph, plans):
    """Compile ``plans`` ([(node, text, constants)], rill.codegen.wire) into
    ``graph._writers``: a source's by its record's key (and as its node's ``plan``), a
    transform's by its node."""
    try:
        while plans:
            node, text, consts = plans.pop(0)
            _scope["K"] = consts
            try:
                exec(text, _scope)
            except Exception:  # no native emitter, or no memory for native code: bytecode
                exec(text[20:], _scope)  # (without the decorator's line)
            text = consts = None
            fn = _scope.pop("dispatch")
            if node.kind == "source":
                graph._writers[node.out] = node.plan = fn
            else:
                graph._writers[node] = fn
        del _scope["K"]
    finally:
        pkg = sys.modules["rill"]
        sys.modules.pop("rill.native", None)
        pkg.__dict__.pop("native", None)

"""``FileSource``: a JSONL or CSV fixture as a task source.

    p.source("temp", task=FileSource("temp.jsonl", value="v"))        # {"t": 0, "v": 21.5} per line
    p.source("env", task=FileSource("env.csv", timed=False))          # t,temp,hum header; as fast as possible

JSONL: one JSON value per line. CSV: a header line of names, then plain comma-separated
cells (no quoting), each an int, a float or else text; a row is a dict by the header.
``time`` names the field holding the record's time in ms from the source's start;
``value`` names the field emitted (None: the whole line's value).

Timed (the default), each record is emitted at its time on the graph's clock (its
``sleep_until``), so a VirtualClock replays hours instantly; ``timed=False`` emits
as fast as the graph takes them (``emit.wait``: a full BLOCK queue holds the source).

A malformed line (bad JSON or CSV, no time field) or a line longer than ``max_line``
becomes a dead letter, named by the source with the line number as its value and the
reason; ``malformed`` counts them. The source carries on with the next line.

Heap: one line buffer of ``max_line`` + 1 bytes; per line its bytes, its parsed value
and, for CSV, the cells. Never more than ``max_line`` for a line, whatever the file.
"""
import asyncio
import json

from .lines import END, LONG, LineReader


def _cell(text):
    for conv in (int, float):
        try:
            return conv(text)
        except ValueError:
            pass
    return text


class FileSource:
    def __init__(self, path, time="t", value=None, timed=True, csv=None, max_line=256):
        self.path = path
        self.time = time
        self.value = value
        self.timed = timed
        self.csv = path.endswith(".csv") if csv is None else csv
        self.max_line = max_line
        self.emitted = self.malformed = 0
        self._header = None

    def _parse(self, data):
        """The line's (time, value); raises ValueError for a malformed line."""
        if self.csv:
            cells = data.decode().rstrip("\r").split(",")
            if self._header is None:
                self._header = cells
                return None, None
            if len(cells) != len(self._header):
                raise ValueError("%d cells, the header has %d" % (len(cells), len(self._header)))
            obj = {}
            for name, cell in zip(self._header, cells):
                obj[name] = _cell(cell.strip())
        else:
            obj = json.loads(data)
        t = None
        if self.time is not None and isinstance(obj, dict):
            t = obj.get(self.time)
        if self.timed and not isinstance(t, int):
            raise ValueError("no integer %r field (ms)" % self.time)
        if self.value is not None:
            if not isinstance(obj, dict) or self.value not in obj:
                raise ValueError("no %r field" % self.value)
            obj = obj[self.value]
        return t, obj

    async def __call__(self, emit):
        graph = emit.graph
        clock = graph.clock
        start = clock.now()
        self._header = None
        with open(self.path, "rb") as f:
            reader = LineReader(f, self.max_line)
            while True:
                kind = reader.next()
                if kind == END:
                    return
                try:
                    if kind == LONG:
                        raise ValueError("longer than max_line %d" % self.max_line)
                    if not len(reader.line):
                        continue
                    t, value = self._parse(bytes(reader.line))
                except Exception as e:  # ValueError, or the JSON error (its own type on each runtime)
                    self.malformed += 1
                    graph.fail(emit, reader.lineno, ValueError("line %d: %s" % (reader.lineno, e)))
                    continue
                if value is None:
                    continue
                if self.timed:
                    await clock.sleep_until(clock.add(start, t))
                await emit.wait(value)
                self.emitted += 1
                if not self.timed:
                    await asyncio.sleep_ms(0)

"""Simulated hardware for the host (CPython and the MicroPython unix port).

``machine`` mimics MicroPython's ``machine`` (Pin with edge injection, ADC, Timer,
I2C/SoftI2C with pluggable device models); ``bme280`` and ``sht3x`` are register
models that turn a physical temperature, humidity and pressure into raw readings,
with fault injection; ``hardware`` assembles one board's worth. ``rill.board``
hands these objects to the unchanged drivers; nothing shadows the real ``machine``.
"""

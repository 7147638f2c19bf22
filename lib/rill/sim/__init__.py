"""Simulated hardware for the host (CPython and the MicroPython unix port).

``machine`` mimics MicroPython's ``machine`` (I2C with pluggable device models; Pin
with edge injection, ADC, and Timer/SoftI2C... from ``pin``, ``adc`` and ``extras``,
loaded at first use); ``bme280`` and ``sht3x`` are register models that turn a
physical temperature, humidity and pressure into raw readings, with fault injection
(``device``, ``registers``); ``hardware`` assembles one board's worth, each model made
at first use, and ``SimBoard``, the Board that hands these objects to the unchanged
drivers. Nothing shadows the real ``machine``.
"""

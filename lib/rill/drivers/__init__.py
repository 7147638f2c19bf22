"""Sensor and input drivers. Each takes its bus, pin or ADC object from the caller
(usually ``rill.board``), so the same code runs on a board and against ``rill.sim``."""

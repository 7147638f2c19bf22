"""rill's host package: the ``rill`` command (``cli``), a project scaffold (``scaffold``)
and the pytest plugin (``pytest_plugin``) that runs every test on CPython and on the
MicroPython unix ports, 64- and 32-bit (``runtimes``). Installed editable from the
checkout (``pip install -e .``), so ``ROOT`` is the checkout whose ``lib/``, ``boards/``
and ``tools/`` it uses."""
import os

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MP_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "mp")  # runs on MicroPython: runner, testkit
DEPS = os.path.join(ROOT, ".deps", "micropython")

"""The benchmarks (``rill bench``); ``MP``: the scripts that run on MicroPython (mp/*_mp.py)."""
import os

MP = os.path.join(os.path.dirname(os.path.abspath(__file__)), "mp")

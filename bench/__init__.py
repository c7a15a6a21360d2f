"""Class-day benchmark: a whole class logging in at once, against any hub.

``python -m bench.classday --help`` (or ``make bench``, which runs it against
a local hub it starts). See docs/performance.md for what it measures and the
results on the reference machine.
"""

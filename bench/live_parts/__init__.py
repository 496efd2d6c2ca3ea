"""The parts of ``bench/live.py``, one job each (``bench/live.py`` is the command and the order of the run):

- ``common``: the constants every process shares, its Redis and channel-layer prefix, the bare layer;
- ``processes``: starting the child processes, their line protocol, their CPU seconds;
- ``web``, ``worker``, ``clients``: what each child process runs (``bench/live.py --role ...``);
- ``probe``: the worker's timestamps of one ingest call (a statement wrapper and the events' observer hook);
- ``data``: the users, tokens, sources and subscriptions a run needs;
- ``cases``: the parent's side of each case (baseline, stream, fan-out): commands out, figures back;
- ``report``: the lines printed.
"""

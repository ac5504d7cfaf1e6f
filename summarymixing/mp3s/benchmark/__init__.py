"""The MP3S benchmark: every task and probe on every encoder, one table.

:mod:`.plan` checks the choices and lists the runs (:class:`~.plan.ProbeRun`)
and what became of each (:class:`~.plan.RunOutcome`) before anything runs;
:mod:`.runner` exports the baselines, runs or reuses each probe and keeps
going past a failure; :mod:`.report` writes ``results.md`` and
``results.csv`` from the :mod:`.tables` and the layer-weight :mod:`.plot`.
"""

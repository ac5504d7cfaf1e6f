"""One MP3S task with one probe on one encoder: :func:`~.tasks.run_probe`.

:mod:`.tasks` reads the task's YAML, prepares its corpus, loads the frozen
upstream and hands over to the task family's runner (:mod:`.runners`), which
builds the datasets, the probe and its Brain, trains, tests and writes
``result.json``; :mod:`.output_folder` owns the run's folder (who it belongs
to, its log, its files).
"""

"""The Brains that train and evaluate a probe: one base, one per task family.

:mod:`.base` (:class:`~.base.ProbeBrain`: frozen weighted features, the
probe, the two optimisers and annealers of :mod:`.optimisation`, on the
project's :class:`~summarymixing.training.robust_brain.RobustBrain`),
:mod:`.asr` (CTC, WER/CER), :mod:`.classification` (cross-entropy,
accuracy), :mod:`.speaker` (AAM softmax, EER/minDCF on trials).
"""

"""The command-line programs: pre-training, MP3S, fine-tuning, transcription.

The top layer of the package (nothing imports it). Each module runs as
``python -m summarymixing.recipes.<name>``, as a console script once the
package is installed (``summarymixing-pretrain``, ``summarymixing-mp3s-probe``,
``summarymixing-mp3s-benchmark``, ``summarymixing-finetune-ctc``,
``summarymixing-transcribe``) and, in a clone, as ``python recipes/<name>.py``
(``recipes/`` holds a three-line launcher of each, so that ``torchrun
recipes/pretrain.py`` works as in SpeechBrain's recipes).
"""

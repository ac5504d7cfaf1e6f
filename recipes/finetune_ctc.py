#!/usr/bin/env python3
"""Launch CTC fine-tuning (usage: summarymixing.recipes.finetune_ctc).

The same program as ``python -m summarymixing.recipes.finetune_ctc``, kept as a
file so that ``torchrun recipes/finetune_ctc.py ...`` works as in SpeechBrain.
"""

import sys

from summarymixing.recipes.finetune_ctc import main

if __name__ == "__main__":
    main(sys.argv[1:])

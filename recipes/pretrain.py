#!/usr/bin/env python3
"""Launch wav2vec 2.0 pre-training (usage: summarymixing.recipes.pretrain).

The same program as ``python -m summarymixing.recipes.pretrain``, kept as a
file so that ``torchrun recipes/pretrain.py ...`` works as in SpeechBrain.
"""

import sys

from summarymixing.recipes.pretrain import main

if __name__ == "__main__":
    main(sys.argv[1:])

#!/usr/bin/env python3
"""Launch the MP3S benchmark (usage: summarymixing.recipes.mp3s_benchmark).

The same program as ``python -m summarymixing.recipes.mp3s_benchmark``, kept as a
file so that ``torchrun recipes/mp3s_benchmark.py ...`` works as in SpeechBrain.
"""

import sys

from summarymixing.recipes.mp3s_benchmark import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

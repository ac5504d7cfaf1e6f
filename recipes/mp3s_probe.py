#!/usr/bin/env python3
"""Launch one MP3S probe of a frozen encoder (usage: summarymixing.recipes.mp3s_probe).

The same program as ``python -m summarymixing.recipes.mp3s_probe``, kept as a
file so that ``torchrun recipes/mp3s_probe.py ...`` works as in SpeechBrain.
"""

import sys

from summarymixing.recipes.mp3s_probe import main

if __name__ == "__main__":
    main(sys.argv[1:])

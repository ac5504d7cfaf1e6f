#!/usr/bin/env python3
"""Launch transcription (usage: summarymixing.recipes.transcribe).

The same program as ``python -m summarymixing.recipes.transcribe``.
"""

import sys

from summarymixing.recipes.transcribe import main

if __name__ == "__main__":
    main(sys.argv[1:])

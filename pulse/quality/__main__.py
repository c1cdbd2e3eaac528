"""`python -m pulse.quality build|check`: regenerate, or check, the committed GX project."""

from __future__ import annotations

import sys

from pulse.quality.gates import main

sys.exit(main())

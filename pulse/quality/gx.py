"""Great Expectations itself: importing it quietly, and where its project lives.

The library takes seconds to import, so no module of the package imports it at its top; each
function that needs it calls `import_gx()` first.
"""

from __future__ import annotations

import logging
import os
from typing import Any

# The Great Expectations project is this folder inside a project folder (expectations/ when
# committed, or a task's own copy).
GX_DIR = "gx"


def import_gx() -> Any:
    """Import Great Expectations with analytics off and its chatter out of the pipeline's log.

    Returns:
        The `great_expectations` module.
    """
    # Great Expectations reads this when it is imported; the project file says the same.
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    # It logs every config substitution and metric at INFO; keep that out of the pipeline's log
    # unless someone set its level on purpose.
    gx_logger = logging.getLogger("great_expectations")
    if gx_logger.level == logging.NOTSET:
        gx_logger.setLevel(logging.WARNING)
    import great_expectations

    return great_expectations

"""Reading the report's figures from the warehouse, only through `pulse.warehouse.connect`.

`marts` reads the views of schema marts (incidents and topics included) as pulse_bi, or the
role it is given, `operational` what BI may not see (raw), `load` puts both into one
`ReportData`, `query` holds their shared helpers.
"""

from __future__ import annotations

from pulse.report.read.load import load_report_data
from pulse.report.read.marts import COLUMNS_READ

__all__ = ["COLUMNS_READ", "load_report_data"]

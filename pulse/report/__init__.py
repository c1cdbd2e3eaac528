"""The self-contained HTML report of what BI sees."""

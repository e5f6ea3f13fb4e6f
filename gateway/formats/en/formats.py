"""Dates and times as the staff console shows them: ISO order, 24-hour clock, compact enough for a list column.

Django's English formats ("Nov. 30, 2026, 1:12 p.m.") take half as much width again in every changelist. Only
display formats change; what forms accept (``*_INPUT_FORMATS``) stays Django's.
"""

DATE_FORMAT = "Y-m-d"
DATETIME_FORMAT = "Y-m-d H:i"
SHORT_DATE_FORMAT = "Y-m-d"
SHORT_DATETIME_FORMAT = "Y-m-d H:i"
TIME_FORMAT = "H:i"

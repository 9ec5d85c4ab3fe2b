"""Months as ``YYYY-MM`` strings: the unit data is delivered, monitored and retrained in."""


def month_after(month: str, n: int = 1) -> str:
    """The month ``n`` months after ``month`` (negative ``n``: before)."""
    year, m = map(int, month.split("-"))
    index = year * 12 + m - 1 + n
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def month_range(first: str, last: str) -> list[str]:
    """Every month from ``first`` to ``last``, both included."""
    months, month = [], first
    while month <= last:
        months.append(month)
        month = month_after(month)
    return months

select calendar_date, days_to_nearest_holiday from {{ ref('int_calendar_days') }}

{{ point_in_time_history(['origin', 'sched_dep_hour'], 'origin_hour') }}

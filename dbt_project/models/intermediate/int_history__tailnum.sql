{{ point_in_time_history(['tailnum'], 'tailnum') }}

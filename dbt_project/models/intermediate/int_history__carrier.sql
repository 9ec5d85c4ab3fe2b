{{ point_in_time_history(['carrier'], 'carrier') }}

{{ point_in_time_history(['origin', 'dest'], 'route') }}

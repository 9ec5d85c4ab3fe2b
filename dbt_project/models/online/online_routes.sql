{{ latest_entity_features(['origin', 'dest'], 'route', ['distance_miles']) }}

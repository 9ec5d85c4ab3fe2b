{{ latest_entity_features(['carrier'], 'carrier') }}

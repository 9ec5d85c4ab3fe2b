{{ latest_entity_features(['origin', 'sched_dep_hour'], 'origin_hour') }}

{{ config(
    materialized='incremental',
    tags=['monthly'],
    meta={'batch_column': 'flight_date'},
    pre_hook="{{ delete_batch('flight_date') }}",
) }}
{{ flight_history(['tailnum'], 'tailnum') }}

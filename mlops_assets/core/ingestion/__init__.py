"""C4 (raw side): the raw-table schema contract, validated loads, which delivered months to load."""

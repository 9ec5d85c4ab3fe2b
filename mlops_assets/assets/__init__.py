"""Assets, one module per lifecycle stage."""

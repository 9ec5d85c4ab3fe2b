"""C4 feature store (online side): the online store and the request-time feature lookup."""

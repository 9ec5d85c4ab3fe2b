"""C6 model registry: immutable versions, stages, the promotion gate, model cards."""

"""C8 serving: scoring rows with a version, the prediction log, HTTP errors, drain, Bentos."""

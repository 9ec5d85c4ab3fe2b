"""Resources: configuration objects that assets receive; they never import assets or sensors."""

"""The run directory: what apply has done (state), shards and manifests."""

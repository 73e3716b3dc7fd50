"""The spec DSL: YAML loading with positions, typed models, defaults merging, JSON Schema."""

"""Training support shared by the recipes: options, config, state, logging."""

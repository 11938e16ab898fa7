"""Figure primitives (matplotlib only): one style, and the plots tasks and reports draw from
arrays. Nothing here reads a config, a store or a checkpoint."""

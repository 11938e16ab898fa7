"""Physical description of lensing systems: distributions, cosmology, components, scenarios,
instruments. Renderer-independent and free of torch."""

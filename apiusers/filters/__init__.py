"""List filtering: the generic backends, and the filter set of the API users' list."""

# The service's one version number: pyproject.toml, the OpenAPI schema and /healthz read it.
__version__ = "0.2.0"

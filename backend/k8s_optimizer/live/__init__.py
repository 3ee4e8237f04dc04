"""The live cluster model: watch caches, metrics collection and the change feed that the API serves."""

"""The API's resources, one module per group of them; each has a `blp`."""

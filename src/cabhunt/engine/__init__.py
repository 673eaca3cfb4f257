"""Query engines other than the default embedded DuckDB (Spark for fleets past one machine)."""

ENGINES = ("duckdb", "spark")

"""Storage: the database schema and its coordination between processes."""

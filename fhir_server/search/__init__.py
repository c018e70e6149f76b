"""Search: SearchParameter registry, index extraction, and query parsing; pure and storage-agnostic."""

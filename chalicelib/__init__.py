"""Gatehouse: JWT authentication for Chalice APIs (the code that ships in the Lambda package)."""

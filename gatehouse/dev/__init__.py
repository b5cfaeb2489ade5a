"""Development tooling: the local stack, table definitions, the gateway shim.

Not part of the Lambda package (Chalice ships only ``app.py`` and ``chalicelib``).
"""

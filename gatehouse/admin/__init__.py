"""Gatehouse's admin CLI: ``python -m gatehouse.admin --help``.

Lives outside ``chalicelib`` on purpose: Chalice ships only ``app.py`` and
``chalicelib`` to Lambda, and nothing here (key generation, rotation, user
administration) belongs in a deployed function.
"""

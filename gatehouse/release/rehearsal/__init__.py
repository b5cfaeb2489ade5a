"""Rehearse the deployment locally: ``make rehearse`` (docs/DEPLOY.md, "Rehearse before deploying").

Release tooling, never imported by Lambda code: it runs what ``make package``
built (``build/sam.json`` and the zip it names) as the deployment would run
it, with moto in place of AWS.  :mod:`.run` is the entry point.
"""

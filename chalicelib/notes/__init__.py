"""Notes: the worked example of an API behind Gatehouse.

Built only from Gatehouse's public seam (``app.py`` composes it): each user
has their own notes, and a note of somebody else's is answered exactly like
one that does not exist.
"""

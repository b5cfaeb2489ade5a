"""``gatehouse init``: what a Chalice project needs to run, test and package with Gatehouse."""

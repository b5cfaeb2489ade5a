"""Pure JOSE: base64url, compact JWS, JWK key sets and access tokens.

Nothing in this package imports Chalice, boto3 or botocore, reads a clock,
the environment or the network: keys, rules and the time are arguments.
Its only third-party dependency is ``cryptography`` (its ``hazmat``
primitives, never ``x509``); PyJWT is imported only to issue a token.
"""

"""The authorizer edge: API Gateway's TOKEN event in, an IAM policy out.

``handler`` is the Lambda entry point (``gatehouse.authorizer.handler.gatehouse_auth``);
``decision`` turns a bearer header into allow or deny; ``bearer`` reads the
header; ``policy`` holds the protected-route table and the cached policy
documents; ``session_check`` asks whether a token's session is still live;
``identity`` is what a view learns from the authorizer's context.  Tokens
themselves are :mod:`gatehouse.jose`'s business.  Nothing here imports
Chalice, the application, boto3 or any login, mail or storage-write module:
the authorizer function's cold start pays for the verifier and nothing else.
"""

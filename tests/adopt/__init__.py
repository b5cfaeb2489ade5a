import json
import sys
from pathlib import Path

# The wheel as `make wheel` builds it (offline: no build isolation); append the output
# folder and the project.
BUILD_WHEEL = [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "-w"]

# Gatehouse's own tables, as its merge-template base declares them: a stack holds these
# and the app's declared tables, nothing else.
_BASE = json.loads(
    (Path(__file__).resolve().parents[2] / "gatehouse" / "release" / "resources.json").read_text()
)
GATEHOUSE_TABLES = frozenset(
    name for name, r in _BASE["Resources"].items() if r.get("Type") == "AWS::DynamoDB::Table"
)

import sys

# The wheel as `make wheel` builds it (offline: no build isolation); append the output
# folder and the project.
BUILD_WHEEL = [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "-w"]

"""The template's functions, each run from the extracted zip in its own process.

:func:`function_specs` reads every ``AWS::Serverless::Function`` (or
``AWS::Lambda::Function``) of the resolved template: handler, runtime,
memory, timeout, environment, and the inline policies of the role its
``Role`` names.  :class:`FunctionProcess` starts one with the runtime shim
(``bootstrap.py``) and invokes it over a pipe, one event at a time, as one
Lambda execution environment serves one request at a time.
"""

from __future__ import annotations

import importlib.util
import json
import os
import select
import shutil
import subprocess
import sys
import threading
import time
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from gatehouse.release.rehearsal import policy
from gatehouse.release.rehearsal.cfn import Resolver, TemplateError, resources_of

FUNCTION_TYPES = ("AWS::Serverless::Function", "AWS::Lambda::Function")
# What the Lambda Python runtime provides besides the standard library.
RUNTIME_LIBRARIES = ("boto3", "botocore", "jmespath", "dateutil", "s3transfer", "six", "urllib3")
# Variables the Lambda service sets and a template may not (Lambda refuses to deploy them).
RESERVED = frozenset(
    {
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_LAMBDA_FUNCTION_NAME",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
        "AWS_LAMBDA_FUNCTION_VERSION",
        "AWS_EXECUTION_ENV",
        "LAMBDA_TASK_ROOT",
        "LAMBDA_RUNTIME_DIR",
    }
)
START_TIMEOUT = 60.0  # seconds for a function's init (imports) on a loaded machine
_BOOT = (
    "import sys; sys.path[:0] = sys.argv[1:3]; "
    "from rehearsal_runtime.bootstrap import main; sys.exit(main(sys.argv[3:]))"
)


class FunctionFailed(Exception):
    """A function could not start or answer; the message names it.

    Not a :class:`~gatehouse.errors.GatehouseError`: a build step's refusal, never a request's.
    """


@dataclass(frozen=True)
class FunctionSpec:
    logical: str
    name: str
    arn: str
    handler: str
    runtime: str
    timeout: int
    memory_size: int
    code_uri: str
    environment: Mapping[str, str]
    role: str  # the role's logical id
    role_name: str
    statements: list[dict[str, Any]]

    def label(self) -> str:
        return f"{self.logical} ({self.name}, role {self.role})"


def _role_of(logical: str, properties: Mapping[str, Any]) -> str:
    role = properties.get("Role")
    if "Policies" in properties or "ManagedPolicyArns" in properties:
        raise TemplateError(f"{logical}: SAM Policies on the function are not supported; give it a Role")
    if not (isinstance(role, dict) and set(role) == {"Fn::GetAtt"}):
        raise TemplateError(f"{logical}: Role must be Fn::GetAtt of a role in the template, not {role!r}")
    target = role["Fn::GetAtt"]
    name, attribute = target.split(".", 1) if isinstance(target, str) else target
    if attribute != "Arn":
        raise TemplateError(f"{logical}: Role must be the Arn of a role, not its {attribute}")
    return str(name)


def function_specs(resolver: Resolver) -> dict[str, FunctionSpec]:
    """Every function of the template as deployed with the resolver's parameters and names."""
    template = resolver.template
    if "Globals" in template:
        raise TemplateError("the template's SAM Globals section is not supported by the rehearsal")
    specs = {}
    for logical, resource in resources_of(template, *FUNCTION_TYPES).items():
        if "Condition" in resource and not resolver.condition(resource["Condition"]):
            continue
        raw = resource.get("Properties", {})
        properties = resolver.resolve(raw, f"Resources.{logical}.Properties")
        role = _role_of(logical, raw)
        role_resource = template["Resources"].get(role, {})
        if role_resource.get("Type") != "AWS::IAM::Role":
            raise TemplateError(f"{logical}: its Role {role} is not an AWS::IAM::Role of the template")
        role_properties = resolver.resolve(
            role_resource.get("Properties", {}), f"Resources.{role}.Properties"
        )
        if role_properties.get("ManagedPolicyArns"):
            raise TemplateError(f"{role}: ManagedPolicyArns are not supported by the rehearsal (inline only)")
        statements = policy.statements_of(p["PolicyDocument"] for p in role_properties.get("Policies", []))
        for name in ("Handler", "Runtime", "CodeUri"):
            if not isinstance(properties.get(name), str):
                raise TemplateError(f"{logical}: no {name} (the rehearsal runs zip-packaged functions)")
        variables = properties.get("Environment", {}).get("Variables", {})
        reserved = sorted(set(variables) & RESERVED)
        if reserved:
            raise TemplateError(f"{logical}: Lambda reserves the variable(s) {', '.join(reserved)}")
        specs[logical] = FunctionSpec(
            logical=logical,
            name=resolver.physical_id(logical),
            arn=resolver.arn(logical, logical),
            handler=properties["Handler"],
            runtime=properties["Runtime"],
            timeout=int(properties.get("Timeout", 3)),
            memory_size=int(properties.get("MemorySize", 128)),
            code_uri=properties["CodeUri"],
            environment={key: str(value) for key, value in variables.items()},
            role=role,
            role_name=resolver.physical_id(role),
            statements=statements,
        )
    return specs


def check_runtime(spec: FunctionSpec) -> None:
    here = f"python{sys.version_info.major}.{sys.version_info.minor}"
    if spec.runtime != here:
        raise TemplateError(
            f"{spec.logical}: its runtime is {spec.runtime} but the rehearsal runs on {here}: "
            f"run it with {spec.runtime} (the zip's byte code and wheels are built for that version)"
        )


def extract(zip_path: Path, target: Path) -> Path:
    """The zip's files in ``target``, read-only as ``/var/task`` is on Lambda."""
    with zipfile.ZipFile(zip_path) as bundle:
        bundle.extractall(target)
        for info in bundle.infolist():
            mode = (info.external_attr >> 16) & 0o777
            if mode and not info.is_dir():
                os.chmod(target / info.filename, (mode | 0o444) & 0o555)
    for root, dirs, _ in os.walk(target):
        for name in dirs:
            os.chmod(Path(root) / name, 0o555)  # noqa: S103 (read-only, like /var/task)
    os.chmod(target, 0o555)  # noqa: S103 (read-only, like /var/task)
    return target


def writable(tree: Path) -> None:
    """Undo :func:`extract`'s read-only modes so the tree can be removed."""
    if not tree.exists():
        return
    os.chmod(tree, 0o700)
    for root, dirs, files in os.walk(tree):
        for name in dirs:
            os.chmod(Path(root) / name, 0o700)
        for name in files:
            os.chmod(Path(root) / name, 0o600)


def runtime_dir(target: Path) -> Path:
    """The shim and boto3/botocore with their dependencies: what Lambda's runtime puts on ``sys.path``."""
    package = target / "rehearsal_runtime"
    package.mkdir(parents=True)
    here = Path(__file__).parent
    (package / "__init__.py").write_text('"""The rehearsal\'s Lambda runtime shim (copied)."""\n')
    for name in ("bootstrap.py", "policy.py"):
        shutil.copyfile(here / name, package / name)
    for library in RUNTIME_LIBRARIES:
        found = importlib.util.find_spec(library)
        if found is None or found.origin is None:
            raise TemplateError(
                f"{library} is not installed: the rehearsal provides it as Lambda's runtime does"
            )
        origin = Path(found.origin)
        source = origin.parent if origin.name == "__init__.py" else origin
        (target / source.name).symlink_to(source)
    return target


@dataclass
class Invocation:
    result: Any = None
    error: dict[str, str] | None = None
    denied: list[dict[str, str]] = field(default_factory=list)
    unset: list[str] = field(default_factory=list)  # variables the function read and did not find
    log: list[str] = field(default_factory=list)  # what it logged while serving this event


class FunctionProcess:
    """One function's execution environment: a process serving one invocation at a time."""

    def __init__(self, spec: FunctionSpec, task_root: Path, runtime: Path, env: Mapping[str, str], log: Path):
        self.spec = spec
        self.task_root = task_root
        self.runtime = runtime
        self.env = dict(env)
        self.log_path = log
        self.init_denied: list[dict[str, str]] = []
        self.unset: list[str] = []
        self._lock = threading.Lock()
        self._process: subprocess.Popen[str] | None = None
        self._log: IO[str] | None = None

    def start(self, config: Mapping[str, Any]) -> None:
        """Start the process; :meth:`wait_ready` waits for its init (imports, handler lookup)."""
        config_path = self.log_path.with_suffix(".json")
        config_path.write_text(json.dumps(config))
        self._log = self.log_path.open("w")
        self._process = subprocess.Popen(  # noqa: S603 (this Python, the rehearsal's own shim)
            [
                sys.executable,
                "-I",
                "-S",
                "-B",
                "-c",
                _BOOT,
                str(self.task_root),
                str(self.runtime),
                str(config_path),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            env=self.env,
            cwd=self.task_root,
            text=True,
            encoding="utf-8",
        )

    def wait_ready(self) -> None:
        hello = self._read(START_TIMEOUT)
        self.init_denied = list(hello.get("denied", []))
        self.unset = list(hello.get("unset", []))
        if "init_error" in hello:
            raise FunctionFailed(f"{self.spec.label()}: handler {self.spec.handler}: {hello['init_error']}")

    def _read(self, timeout: float) -> dict[str, Any]:
        process = self._process
        assert process is not None
        assert process.stdout is not None
        ready, _, _ = select.select([process.stdout], [], [], timeout)
        line = process.stdout.readline() if ready else ""
        if not line:
            if ready:
                process.wait(timeout=5)
            raise FunctionFailed(
                f"{self.spec.label()}: "
                + (f"timed out after {timeout:.0f} s" if not ready else f"exited ({process.returncode})")
                + f"; last log line: {self.last_log_line()}"
            )
        answer: dict[str, Any] = json.loads(line)
        return answer

    def last_log_line(self) -> str:
        lines = [line for line in self.log_path.read_text(errors="replace").splitlines() if line.strip()]
        return lines[-1] if lines else "(none)"

    def invoke(self, event: Mapping[str, Any]) -> Invocation:
        with self._lock:
            process = self._process
            assert process is not None
            assert process.stdin is not None
            started = time.monotonic()
            offset = self.log_path.stat().st_size
            try:
                process.stdin.write(json.dumps({"event": event}) + "\n")
                process.stdin.flush()
            except BrokenPipeError:
                raise FunctionFailed(f"{self.spec.label()}: its process is gone") from None
            answer = self._read(self.spec.timeout + 5.0)
            if time.monotonic() - started > self.spec.timeout:
                answer = {
                    "error": {"errorMessage": f"Task timed out after {self.spec.timeout} seconds"},
                    **answer,
                }
            self.unset = list(answer.get("unset", []))
            with self.log_path.open("rb") as log:
                log.seek(offset)
                logged = log.read().decode("utf-8", errors="replace").splitlines()
            return Invocation(
                answer.get("result"), answer.get("error"), list(answer.get("denied", [])), self.unset, logged
            )

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None:
            if process.stdin is not None:
                process.stdin.close()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
            if process.stdout is not None:
                process.stdout.close()
        if self._log is not None:
            self._log.close()
            self._log = None

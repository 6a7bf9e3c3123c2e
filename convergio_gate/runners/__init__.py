"""The vendor coding CLIs convergio-gate dispatches tasks to, described as data.

``registry`` loads ``rules/runners.yaml`` (the five built-in vendors: claude, codex,
gemini, copilot, qwen) merged with the user's and the repository's ``runners.yaml``, and
resolves a task's ``runner_kind`` (``vendor:model``). ``invoke`` builds the argv, standard
input and environment of one round for a permission profile (``read_only``,
``standard``, ``sandbox``), reads the CLI's output (final message, cost in USD, token
usage, failure), and redacts the argv and output for the audit record.

A typical round::

    registry = load_registry(repo_root)
    spec, model = registry.resolve(task.runner_kind)
    invocation = build(spec, model=model, profile=task.profile, prompt=prompt,
                       workdir=worktree, budget_usd=task.max_budget_usd)
    ... run invocation.argv in worktree, record invocation.display ...
    result = parse_output(spec, stdout, stderr, exit_code)
"""

from __future__ import annotations

from convergio_gate.runners.invoke import (
    AgentOutput,
    Invocation,
    build,
    parse_output,
    prompt_digest,
    redact_argv,
    redact_text,
    secret_values,
)
from convergio_gate.runners.registry import (
    PROFILES,
    OutputSpec,
    Probe,
    PromptSpec,
    Registry,
    VendorSpec,
    load_registry,
)

__all__ = [
    "PROFILES",
    "AgentOutput",
    "Invocation",
    "OutputSpec",
    "Probe",
    "PromptSpec",
    "Registry",
    "VendorSpec",
    "build",
    "load_registry",
    "parse_output",
    "prompt_digest",
    "redact_argv",
    "redact_text",
    "secret_values",
]

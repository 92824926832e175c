"""Finding and reading `reconciler.yaml` (the project file, `models/projects.py`).

The file is found as git finds `.git`: in the working directory or the nearest parent that has
one, up to the filesystem root (or a directory named in `RECONCILER_CEILING_DIRECTORIES`, like
`GIT_CEILING_DIRECTORIES`). `--project FILE` names it instead. Errors in it are diagnostics with
`file:line:col`, like a manifest's; choosing an environment it does not define is a
`ProjectError` that lists the ones it does.

Selecting an environment resolves everything a run needs — manifest paths, patch files, the
state and the webhook — to absolute paths, so the run does not depend on the working directory.
Two environments that would share one state are refused here, before anything is opened.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import ValidationError

from reconciler.loading.errors import ManifestError
from reconciler.loading.paths import display_path
from reconciler.loading.yaml_source import YamlDocument, parse_yaml
from reconciler.models.costs import parse_budget
from reconciler.models.diagnostics import Diagnostic, Diagnostics, SourceLocation
from reconciler.models.messages import humanize

if TYPE_CHECKING:
    # the project file's pydantic models are built (2-3 ms) only when there is a project file
    from reconciler.models.projects import ProjectSpec, Webhook

PROJECT_FILE = "reconciler.yaml"
CEILING_ENV = "RECONCILER_CEILING_DIRECTORIES"


class ProjectError(Exception):
    """The project file cannot be used as asked; the message says why and what to do."""


def find_project_file(start: Path | None = None) -> Path | None:
    """`reconciler.yaml` in `start` (default: the working directory) or its nearest parent that has one."""
    here = (start or Path.cwd()).resolve()
    ceilings = {Path(p).resolve() for p in os.environ.get(CEILING_ENV, "").split(os.pathsep) if p}
    for directory in (here, *here.parents):
        candidate = directory / PROJECT_FILE
        if candidate.is_file():
            return candidate
        if directory in ceilings:
            return None
    return None


@dataclass(frozen=True)
class Selection:
    """What one run of one environment (or of a project without environments) works on."""

    project: Project
    environment: str | None
    manifest_paths: list[Path]
    patches: list[Path]
    state: str  # an absolute file path, or a postgresql:// URL
    workspace: str | None  # PostgreSQL workspace, when the project or environment names one
    webhook: Webhook | None
    budget: tuple[float, str] | None = None  # (amount, currency): plan/apply refuse a plan above it
    budget_source: str = ""  # where it was set, for the refusal ("budget in reconciler.yaml")

    @property
    def flags(self) -> list[str]:
        """The command-line flags that select this again (for hints that must work as printed)."""
        out = []
        if self.project.explicit:
            out += ["--project", self.project.shown]
        if self.environment is not None:
            out += ["--env", self.environment]
        return out


@dataclass(frozen=True)
class Project:
    path: Path  # the file, absolute
    spec: ProjectSpec
    document: YamlDocument
    explicit: bool = False  # named with --project (hints must repeat it)

    @property
    def root(self) -> Path:
        return self.path.parent

    @property
    def shown(self) -> str:
        return display_path(self.path)

    @property
    def environments(self) -> list[str]:
        return sorted(self.spec.environments)

    def where(self, field: str) -> str:
        return f"{self.document.location_of(field)}"

    def _path(self, text: str) -> Path:
        return (self.root / text).resolve() if not os.path.isabs(text) else Path(text)

    def _state_of(self, env: str | None) -> tuple[str, str]:
        """(state, the project-file field it came from) for `env`; paths made absolute."""
        from reconciler.models.projects import DEFAULT_ENV_STATE, DEFAULT_STATE, ENV_PLACEHOLDER

        spec = self.spec
        e = spec.environments.get(env) if env is not None else None
        if e is not None and e.state is not None:
            raw, origin = e.state, f"environments.{env}.state"
        elif spec.state is not None:
            raw, origin = spec.state, "state"
        else:
            raw, origin = (DEFAULT_ENV_STATE if env is not None else DEFAULT_STATE), ""
        raw = raw.replace(ENV_PLACEHOLDER, env or "default")
        return (raw if "://" in raw else str(self._path(raw))), origin

    def _workspace_of(self, env: str | None) -> str | None:
        e = self.spec.environments.get(env) if env is not None else None
        if e is not None and e.workspace is not None:
            return e.workspace
        if self.spec.workspace is not None:
            return f"{self.spec.workspace}/{env}" if env is not None else self.spec.workspace
        return None

    def select(self, env: str | None) -> Selection:
        spec = self.spec
        if env is None and spec.environments:
            raise ProjectError(
                f"{self.shown} defines environments ({', '.join(self.environments)}): choose one with "
                f"--env {self.environments[0]}"
            )
        if env is not None and env not in spec.environments:
            known = (
                f"it defines: {', '.join(self.environments)}"
                if spec.environments
                else "it defines none (add an 'environments:' section)"
            )
            raise ProjectError(f"--env {env}: {self.shown} has no environment '{env}'; {known}")
        self._refuse_shared_state(env)
        e = spec.environments.get(env) if env is not None else None
        notifications = (
            e.notifications if e is not None and e.notifications is not None else None
        ) or spec.notifications
        state, _ = self._state_of(env)
        budget, budget_source = None, ""
        if e is not None and e.budget is not None:
            budget, budget_source = parse_budget(e.budget), f"the environments.{env}.budget in {self.shown}"
        elif spec.budget is not None:
            budget, budget_source = parse_budget(spec.budget), f"the budget in {self.shown}"
        return Selection(
            project=self,
            environment=env,
            manifest_paths=[self._path(p) for p in [*spec.manifests, *(e.manifests if e else [])]],
            patches=[self._path(p) for p in (e.patches if e else [])],
            state=state,
            workspace=self._workspace_of(env),
            webhook=notifications.webhook if notifications is not None else None,
            budget=budget,
            budget_source=budget_source,
        )

    def _refuse_shared_state(self, env: str | None) -> None:
        """Two environments with one state file (or one PostgreSQL workspace) would prune each other."""
        if env is None:
            return
        mine, origin = self._state_of(env)
        for other in self.environments:
            if other == env:
                continue
            theirs, their_origin = self._state_of(other)
            named = self._workspace_of(env)  # unnamed PostgreSQL workspaces are derived per environment
            same = mine == theirs and (
                "://" not in mine or (named is not None and named == self._workspace_of(other))
            )
            if not same:
                continue
            where = f" ({self.where(origin)}: {origin})" if origin else ""
            from reconciler.models.projects import ENV_PLACEHOLDER

            if "://" in mine:
                fix = f"give each its own workspace (environments.{env}.workspace), or leave workspace unset"
            else:
                fix = (
                    f"put {ENV_PLACEHOLDER} in the path (state: .reconciler/{ENV_PLACEHOLDER}/state.db), or give "
                    f"each environment its own state (environments.{env}.state)"
                )
            raise ProjectError(
                f"{self.shown}: environments '{env}' and '{other}' would share one state{where}, and each "
                f"would plan to delete the other's resources; {fix}"
            )


def read_project(path: Path, *, explicit: bool = False) -> Project:
    """Parse and validate a project file; `ManifestError` (file:line:col diagnostics) when it is invalid."""
    path = path.resolve()
    shown = display_path(path)
    try:
        text = path.read_bytes()
    except OSError as e:
        raise ProjectError(f"{shown}: cannot read the project file: {e.strerror or e}") from None
    parsed = parse_yaml(text, shown)
    out: list[Diagnostic] = list(parsed.diagnostics)
    docs = [d for d in parsed.documents if d.data is not None]
    if not out and len(docs) != 1:
        out.append(
            Diagnostic(
                "a project file holds one YAML document with 'manifests:' (and optionally state, "
                "environments, notifications)",
                SourceLocation(shown, 1, 1),
            )
        )
    from reconciler.models.projects import ProjectSpec

    spec: ProjectSpec | None = None
    if not out:
        doc = docs[0]
        try:
            spec = ProjectSpec.model_validate(doc.data)
        except ValidationError as exc:
            for detail in exc.errors(include_url=False):
                field, message = humanize(detail, ProjectSpec)
                out.append(Diagnostic(message, doc.location_of(field), None, field or None))
    if spec is not None:
        project = Project(path, spec, docs[0], explicit)
        out.extend(_missing_paths(project))
        if not out:
            return project
    diagnostics = Diagnostics()
    diagnostics.extend(out)
    raise ManifestError(diagnostics)


def _missing_paths(project: Project) -> list[Diagnostic]:
    spec = project.spec
    listed = [(f"manifests[{i}]", p) for i, p in enumerate(spec.manifests)]
    for name, env in spec.environments.items():
        listed += [(f"environments.{name}.manifests[{i}]", p) for i, p in enumerate(env.manifests)]
        listed += [(f"environments.{name}.patches[{i}]", p) for i, p in enumerate(env.patches)]
    out = []
    for field, text in listed:
        if not project._path(text).exists():
            out.append(
                Diagnostic(
                    f"{text}: no such file or directory (paths are relative to {project.shown})",
                    project.document.location_of(field),
                    None,
                    field,
                )
            )
    return out


def load_project(project_file: str | None, *, start: Path | None = None) -> Project | None:
    """`--project FILE`, else the nearest `reconciler.yaml` above `start`; None when there is none."""
    if project_file is not None:
        path = Path(project_file)
        if path.is_dir():
            path = path / PROJECT_FILE
        if not path.is_file():
            raise ProjectError(f"--project {project_file}: no such file")
        return read_project(path, explicit=True)
    found = find_project_file(start)
    return read_project(found) if found is not None else None


__all__ = [
    "PROJECT_FILE",
    "Project",
    "ProjectError",
    "Selection",
    "find_project_file",
    "load_project",
    "read_project",
]

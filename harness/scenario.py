"""Scenarios: faults (and the invariants to check) described in YAML, validated with places.

Every problem of a file is reported at once, each as
``path/file.yaml:LINE: faults[1].latency.p99_ms: must be >= p50_ms=80``; unknown keys
get a "did you mean" hint. The model is pydantic, built from the fault registry, so a
fault kind registered anywhere is usable from YAML, and the JSON Schema editors use is
generated from the same model (``chaos-harness schema``).
"""

from __future__ import annotations

import json
import stat
import types
import typing
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from difflib import get_close_matches
from functools import cache
from pathlib import Path
from typing import Annotated, Any, Literal, Union

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    create_model,
    model_validator,
)

from harness.chaos.faults import Fault, MessageFault, clean_message, registry
from harness.errors import ScenarioError, ScenarioProblem, messages
from harness.library_paths import SUFFIXES as _SUFFIXES
from harness.library_paths import (
    builtin_dir,
    find_scenario_files,
)

__all__ = [
    "Checked",
    "Scenario",
    "builtin_dir",
    "check_files",
    "find_scenario_files",
    "load_library",
    "load_scenario",
    "parse_scenario",
    "resolve",
    "scenario_json_schema",
    "select_scenarios",
]

SCHEMA_FILE = "scenario.schema.json"


_TOXIC_ARGS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    # type: (required attributes, optional attributes), as Toxiproxy v2 names them
    "latency": (("latency",), ("jitter",)),
    "bandwidth": (("rate",), ()),
    "slow_close": (("delay",), ()),
    "timeout": (("timeout",), ()),
    "reset_peer": ((), ("timeout",)),
    "slicer": (("average_size",), ("size_variation", "delay")),
    "limit_data": (("bytes",), ()),
    "down": ((), ()),
}


_TOXIC_TRAITS: dict[str, tuple[str, ...]] = {
    "latency": ("delays",),
    "bandwidth": ("delays",),
    "slicer": ("delays",),
    "slow_close": (),
    "timeout": ("ambiguous_for_orders",),
    "reset_peer": ("ambiguous_for_orders",),
    "limit_data": ("ambiguous_for_orders", "taints_data"),
    "down": ("ambiguous_for_orders",),
}


def toxic_kind(type: str) -> str:
    """The fault-log kind of a Toxiproxy toxic: ``toxic:<type>``."""
    return f"toxic:{type}"


def toxic_traits(type: str) -> tuple[str, ...]:
    """What a toxic does, in the faults' trait vocabulary (``harness.chaos.Trait``)."""
    return _TOXIC_TRAITS.get(type, ())


class Toxic(BaseModel):
    """A TCP fault applied by a real Toxiproxy server to the proxies of a test.

    Units as Toxiproxy's: ``latency``/``jitter``/``delay``/``timeout`` in ms (slicer's
    ``delay`` in µs), ``rate`` in KB/s, ``bytes`` and sizes in bytes. ``down`` disables the
    proxy. ``toxicity`` is rolled once per connection, and Toxiproxy v2 ignores seeds.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    type: Literal[
        "latency",
        "bandwidth",
        "slow_close",
        "timeout",
        "reset_peer",
        "slicer",
        "limit_data",
        "down",
    ]
    proxy: str | None = Field(None, description="a proxy name from toxiproxy.json (default: all)")
    stream: Literal["upstream", "downstream"] = "downstream"
    toxicity: float = Field(1.0, ge=0.0, le=1.0)
    latency: int | None = Field(None, ge=0, le=2**31 - 1)
    jitter: int | None = Field(None, ge=0, le=2**31 - 1)
    rate: int | None = Field(None, gt=0, le=2**31 - 1)
    delay: int | None = Field(None, ge=0, le=2**31 - 1)
    timeout: int | None = Field(None, ge=0, le=2**31 - 1)
    average_size: int | None = Field(None, gt=0, le=2**31 - 1)
    size_variation: int | None = Field(None, ge=0, le=2**31 - 1)
    bytes: int | None = Field(None, ge=0, le=2**31 - 1)

    @model_validator(mode="after")
    def _arguments_for_type(self) -> Toxic:
        required, optional = _TOXIC_ARGS[self.type]
        given = {
            k
            for k in (
                "latency",
                "jitter",
                "rate",
                "delay",
                "timeout",
                "average_size",
                "size_variation",
                "bytes",
            )
            if getattr(self, k) is not None
        }
        missing = [k for k in required if k not in given]
        extra = sorted(given - set(required) - set(optional))
        if missing:
            raise ValueError(f"a {self.type} toxic needs {', '.join(missing)}")
        if extra:
            allowed = ", ".join(required + optional) or "no attributes"
            raise ValueError(f"a {self.type} toxic takes {allowed}; not {', '.join(extra)}")
        return self

    def attributes(self) -> dict[str, int]:
        required, optional = _TOXIC_ARGS[self.type]
        return {k: getattr(self, k) for k in required + optional if getattr(self, k) is not None}


def _known_invariant(spec: Any) -> Any:
    from harness.errors import UsageError
    from harness.invariants import parse_spec

    try:
        parse_spec(spec)
    except UsageError as exc:
        raise ValueError(str(exc)) from None
    return spec


InvariantSpec = Annotated[str | dict[str, dict[str, Any]], AfterValidator(_known_invariant)]
"""An invariant of a scenario: a registered name, or ``{name: {argument: value}}``."""


class Scenario(BaseModel):
    """A named set of faults (and the invariants a client must keep under them)."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$", description="kebab-case, unique")
    description: str = Field(min_length=1, description="what it simulates, for a trader")
    tags: list[str] = Field(default_factory=list)
    faults: list[Fault] = Field(default_factory=list)
    toxics: list[Toxic] = Field(default_factory=list, description="TCP faults through Toxiproxy")
    invariants: list[InvariantSpec] = Field(
        default_factory=list,
        description="invariant names, or {name: {argument: value}}",
    )
    origin: str | None = Field(
        None,
        description="where it came from: 'explore <test>' for a scenario exploration found",
    )
    _source: str | None = PrivateAttr(None)

    @model_validator(mode="after")
    def _something_to_do(self) -> Scenario:
        if not self.faults and not self.toxics:
            raise ValueError("a scenario needs at least one fault or toxic")
        return self

    @property
    def source(self) -> str | None:
        """The file this scenario was loaded from (None when built in Python)."""
        return self._source

    @property
    def kinds(self) -> list[str]:
        """Fault kinds in order of first appearance (toxics as ``toxic:<type>``)."""
        return list(
            dict.fromkeys([f.kind for f in self.faults] + [toxic_kind(t.type) for t in self.toxics])
        )

    @property
    def streams(self) -> bool:
        """Whether a fault acts on WebSocket messages (the scenario needs the socket backend)."""
        return any(isinstance(f, MessageFault) for f in self.faults)

    def invariant_names(self) -> list[str]:
        return [i if isinstance(i, str) else next(iter(i)) for i in self.invariants]


@cache
def _model_for(kinds: tuple[str, ...]) -> type[Scenario]:
    classes = tuple(registry()[k] for k in kinds)
    union: Any = Annotated[Union[classes], Field(discriminator="kind")]  # noqa: UP007
    return create_model(  # type: ignore[call-overload, no-any-return]
        "Scenario",
        __base__=Scenario,
        faults=(
            list[union],
            Field(default_factory=list, description="faults, applied in this order"),
        ),
    )


def scenario_model() -> type[Scenario]:
    """The Scenario model with a ``faults`` union over every registered fault kind."""
    return _model_for(tuple(sorted(registry())))


def scenario_json_schema() -> dict[str, Any]:
    schema = scenario_model().model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "trading-chaos-harness scenario"
    return schema


# -- YAML with line numbers ---------------------------------------------------------------

Path_ = tuple[str | int, ...]


def _index_nodes(
    node: yaml.Node, path: Path_, lines: dict[Path_, int], problems: list[tuple[Path_, int, str]]
) -> None:
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        seen: set[Any] = set()
        for key_node, value_node in node.value:
            key = key_node.value
            if key in seen:
                problems.append(
                    ((*path, key), key_node.start_mark.line + 1, f"duplicate key {key!r}")
                )
            seen.add(key)
            lines[(*path, key)] = key_node.start_mark.line + 1
            _index_nodes(value_node, (*path, key), lines, problems)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            lines[(*path, i)] = item.start_mark.line + 1
            _index_nodes(item, (*path, i), lines, problems)


def _data_path(data: Any, loc: Sequence[Any]) -> Path_:
    """The path into the YAML data for a pydantic loc (which may hold union tags)."""
    out: list[str | int] = []
    current = data
    for elem in loc:
        in_mapping = isinstance(current, Mapping) and elem in current
        in_list = isinstance(current, list) and isinstance(elem, int) and 0 <= elem < len(current)
        if in_mapping or in_list:
            out.append(elem)
            current = current[elem]
        elif isinstance(current, Mapping) and current.get("kind") == elem:
            continue  # a discriminated-union tag, not a key
        else:
            out.append(elem)
            current = None
    return tuple(out)


def _line_for(lines: Mapping[Path_, int], path: Path_) -> int | None:
    for end in range(len(path), -1, -1):
        if path[:end] in lines:
            return lines[path[:end]]
    return None


def _format_loc(loc: Sequence[Any]) -> str:
    text = ""
    for elem in loc:
        if isinstance(elem, int):
            text += f"[{elem}]"
        else:
            text += ("." if text else "") + str(elem)
    return text


def _unwrap(tp: Any) -> Any:
    while typing.get_origin(tp) is Annotated:
        tp = typing.get_args(tp)[0]
    return tp


def _known_fields(root: type[BaseModel], parent: Sequence[Any]) -> list[str]:
    """Field names of the model found at ``parent`` (for "did you mean" hints)."""
    tp: Any = root
    for elem in parent:
        tp = _unwrap(tp)
        origin = typing.get_origin(tp)
        if origin in (Union, types.UnionType):
            members = [_unwrap(a) for a in typing.get_args(tp)]
            tagged = [
                m
                for m in members
                if isinstance(m, type)
                and issubclass(m, BaseModel)
                and "kind" in m.model_fields
                and m.model_fields["kind"].default == elem
            ]
            if tagged:
                tp = tagged[0]
                continue
            models = [m for m in members if isinstance(m, type) and issubclass(m, BaseModel)]
            tp = models[0] if models else None
            origin = typing.get_origin(tp)
        if isinstance(elem, int):
            tp = typing.get_args(tp)[0] if origin in (list, tuple) else None
        elif isinstance(tp, type) and issubclass(tp, BaseModel) and elem in tp.model_fields:
            tp = tp.model_fields[elem].annotation
        elif origin is dict:
            tp = typing.get_args(tp)[1]
        else:
            return []
    tp = _unwrap(tp)
    if typing.get_origin(tp) in (Union, types.UnionType):
        models = [
            m for m in typing.get_args(tp) if isinstance(m, type) and issubclass(m, BaseModel)
        ]
        tp = models[0] if models else None
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return list(tp.model_fields)
    return []


def _problem_for_error(
    err: Mapping[str, Any], data: Any, lines: Mapping[Path_, int], file: str, model: type[BaseModel]
) -> ScenarioProblem:
    loc = tuple(err["loc"])
    etype = err["type"]
    if etype in ("union_tag_invalid", "union_tag_not_found"):
        kinds = sorted(registry())
        path = _data_path(data, loc)
        item = data
        for p in path:
            item = item[p] if isinstance(item, (list, Mapping)) else None
        tag = item.get("kind") if isinstance(item, Mapping) else None
        if etype == "union_tag_not_found" or tag is None:
            message = f"missing 'kind' (one of {', '.join(kinds)})"
        else:
            near = get_close_matches(str(tag), kinds, n=1)
            message = (
                f"unknown fault kind {tag!r}"
                + (f" (did you mean {near[0]!r}?)" if near else "")
                + f"; known: {', '.join(kinds)}"
            )
        line = _line_for(lines, (*path, "kind"))
        return ScenarioProblem(file, line, _format_loc(loc), message)
    path = _data_path(data, loc)
    known = _known_fields(model, loc[:-1]) if etype == "extra_forbidden" else []
    message = clean_message(err, known)
    if etype == "extra_forbidden":
        message = f"unknown field {loc[-1]!r}" + message[len("is not a known field") :]
    return ScenarioProblem(file, _line_for(lines, path), _format_loc(loc), message)


_M = typing.TypeVar("_M", bound=BaseModel)

_SHAPES = {
    "scenario": "a scenario is a mapping with name, description and faults",
    "profile": "a profile is a mapping with name, base_url and routes",
}


MAX_FILE_BYTES = 1_000_000
"""The largest scenario or profile file the loader reads (a scenario is a few kilobytes)."""
MAX_NODES = 50_000
"""The most YAML nodes a file may hold once its aliases are expanded ("billion laughs":
a few hundred bytes of nested anchors that expand to billions of nodes are refused)."""
MAX_DEPTH = 50
"""The deepest nesting of mappings and lists a file may have."""


def _expansion(node: yaml.Node) -> tuple[int, int, yaml.Node | None]:
    """(nodes after alias expansion, depth, the first node reached twice: an alias), in one
    pass over the distinct nodes: the cost stays linear in the file's size."""
    sizes: dict[int, int] = {}
    depths: dict[int, int] = {}
    alias: yaml.Node | None = None
    stack: list[tuple[yaml.Node, bool]] = [(node, False)]
    while stack:
        current, done = stack.pop()
        key = id(current)
        children: list[yaml.Node] = []
        if isinstance(current, yaml.MappingNode):
            children = [n for pair in current.value for n in pair]
        elif isinstance(current, yaml.SequenceNode):
            children = list(current.value)
        if done:
            sizes[key] = min(1 + sum(sizes[id(c)] for c in children), 10**18)
            depths[key] = 1 + max((depths[id(c)] for c in children), default=0)
            continue
        if key in sizes:
            alias = alias or current
            continue
        sizes[key] = 0  # in progress
        stack.append((current, True))
        for child in children:
            if id(child) in sizes:
                alias = alias or child
            else:
                stack.append((child, False))
    return sizes[id(node)], depths[id(node)], alias


def _bounded(node: yaml.Node, source: str, what: str) -> None:
    """Refuse a file whose aliases expand past :data:`MAX_NODES` or that nests deeper than
    :data:`MAX_DEPTH`, at the line of the alias or of the file."""
    size, depth, alias = _expansion(node)
    if size > MAX_NODES:
        line = alias.start_mark.line + 1 if alias is not None else 1
        message = messages.yaml_too_large(size, MAX_NODES, alias is not None)
        raise ScenarioError([ScenarioProblem(source, line, "", message)], what)
    if depth > MAX_DEPTH:
        message = messages.yaml_too_deep(depth, MAX_DEPTH)
        raise ScenarioError([ScenarioProblem(source, 1, "", message)], what)


def validate_yaml_model(text: str, source: str, model: type[_M], what: str = "scenario") -> _M:
    """Parse YAML and validate it with a pydantic model; every problem in one
    :class:`ScenarioError`, each with its ``file:line: field: message``. Files larger than
    :data:`MAX_FILE_BYTES`, or that expand past :data:`MAX_NODES`, are refused first."""
    problems: list[ScenarioProblem] = []
    if len(text) > MAX_FILE_BYTES:
        message = messages.yaml_file_too_big(len(text), MAX_FILE_BYTES)
        raise ScenarioError([ScenarioProblem(source, None, "", message)], what)
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        if node is not None:
            _bounded(node, source, what)
        data = yaml.load(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        message = " ".join(str(p) for p in (exc.context, exc.problem) if p) or str(exc)
        raise ScenarioError(
            [ScenarioProblem(source, line, "", f"invalid YAML: {message}")], what
        ) from None
    except ScenarioError:
        raise
    except RecursionError:
        message = messages.yaml_too_deep(None, MAX_DEPTH)
        raise ScenarioError([ScenarioProblem(source, None, "", message)], what) from None
    except Exception as exc:
        problem = ScenarioProblem(source, None, "", f"invalid YAML: {exc}")
        raise ScenarioError([problem], what) from None
    if node is None or not isinstance(data, Mapping):
        kind = "empty" if data is None else type(data).__name__
        shape = _SHAPES.get(what, f"a {what} is a mapping")
        raise ScenarioError([ScenarioProblem(source, 1, "", f"{shape} (got {kind})")], what)
    lines: dict[Path_, int] = {}
    duplicates: list[tuple[Path_, int, str]] = []
    _index_nodes(node, (), lines, duplicates)
    problems.extend(ScenarioProblem(source, line, _format_loc(p), m) for p, line, m in duplicates)
    if any(not isinstance(k, str) for k in data):
        bad = [k for k in data if not isinstance(k, str)]
        problems.append(ScenarioProblem(source, 1, "", f"keys must be strings (got {bad!r})"))
        raise ScenarioError(problems, what)
    try:
        result = model.model_validate(data)
    except ValidationError as exc:
        problems.extend(
            _problem_for_error(err, data, lines, source, model)
            for err in exc.errors(include_url=False)
        )
        problems.sort(key=lambda p: (p.line or 0, p.field))
        raise ScenarioError(problems, what) from None
    if problems:
        raise ScenarioError(problems, what)
    return result


def parse_scenario(text: str, source: str = "<string>") -> Scenario:
    """Parse and validate scenario YAML; every problem in one :class:`ScenarioError`."""
    scenario = validate_yaml_model(text, source, scenario_model())
    scenario._source = source
    return scenario


def read_bounded(path: str | Path, what: str = "scenario") -> str:
    """A scenario or profile file's text: a regular file of at most :data:`MAX_FILE_BYTES`
    (a FIFO or ``/dev/zero`` is refused before anything is read)."""
    path = Path(path)
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            problem = messages.not_a_regular_file(str(path))
        elif info.st_size > MAX_FILE_BYTES:
            problem = messages.yaml_file_too_big(info.st_size, MAX_FILE_BYTES)
        else:
            return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        problem = f"cannot read: {exc}"
    raise ScenarioError([ScenarioProblem(str(path), None, "", problem)], what)


def load_file(path: str | Path) -> Scenario:
    return parse_scenario(read_bounded(path), str(path))


# -- the library -------------------------------------------------------------------------


def iter_load(paths: Iterable[str | Path]) -> Iterator[tuple[Path, Scenario | ScenarioError]]:
    """Each file with its scenario, or with the error that says why it is not one."""
    for file in find_scenario_files(paths):
        try:
            yield file, load_file(file)
        except ScenarioError as exc:
            yield file, exc


@dataclass
class Checked:
    """What checking scenario files found: how many files, the valid ones, every problem."""

    files: int
    scenarios: dict[str, Scenario]
    problems: list[ScenarioProblem]


def check_files(
    paths: Iterable[str | Path], *, reserved: Mapping[str, Scenario] | None = None
) -> Checked:
    """Load every scenario file under ``paths`` and collect every problem: the file's own,
    and a name used twice (among these files, or by a scenario in ``reserved``, such as the
    built-in library a project's scenarios are loaded beside)."""
    taken: dict[str, Scenario] = dict(reserved or {})
    found: dict[str, Scenario] = {}
    problems: list[ScenarioProblem] = []
    files = 0
    for file, result in iter_load(paths):
        files += 1
        if isinstance(result, ScenarioError):
            problems.extend(result.problems)
            continue
        other = found.get(result.name) or taken.get(result.name)
        if other is not None and not _same_file(other.source, result.source):
            problems.append(
                ScenarioProblem(
                    str(file), 1, "name", messages.name_taken(result.name, other.source)
                )
            )
            continue
        found[result.name] = result
    return Checked(files, found, problems)


def _same_file(a: str | None, b: str | None) -> bool:
    return a is not None and b is not None and Path(a).resolve() == Path(b).resolve()


def load_library(dirs: Iterable[str | Path] | None = None) -> dict[str, Scenario]:
    """Scenarios by name from folders (default: the built-in library). Names must be unique."""
    checked = check_files(list(dirs) if dirs is not None else [builtin_dir()])
    if checked.problems:
        raise ScenarioError(checked.problems)
    return checked.scenarios


def default_dirs(project_root: str | Path | None = None) -> list[Path]:
    """The built-in library plus the project's own ``scenarios/`` folder when it has one."""
    dirs = [builtin_dir()]
    if project_root is not None:
        own = Path(project_root) / "scenarios"
        if own.is_dir() and own.resolve() != dirs[0].resolve():
            dirs.append(own)
    return dirs


def locate(text: str | Path, project_root: str | Path | None) -> Path:
    """A path as the user wrote it, resolved from the project (the rootdir) rather than the
    current directory: absolute paths as they are; a relative one under ``project_root``
    when it exists there, else from the current directory (as a shell would)."""
    path = Path(text).expanduser()
    if path.is_absolute() or project_root is None:
        return path
    rooted = Path(project_root) / path
    return rooted if rooted.exists() or not path.exists() else path


def load_scenario(name_or_path: str | Path, *, project_root: str | Path | None = None) -> Scenario:
    """A scenario by file path (relative to the project root, else the current directory),
    or by name from the library (built-in plus project)."""
    text = str(name_or_path)
    path = locate(text, project_root)
    if path.suffix in _SUFFIXES or path.is_file():
        return load_file(path)
    library = load_library(default_dirs(project_root if project_root is not None else Path.cwd()))
    if text in library:
        return library[text]
    near = get_close_matches(text, list(library), n=3)
    hint = f"did you mean {', '.join(repr(n) for n in near)}? " if near else ""
    raise ScenarioError(
        [
            ScenarioProblem(
                text,
                None,
                "",
                f"no scenario named {text!r} in the library; {hint}"
                f"known: {', '.join(sorted(library))}",
            )
        ]
    )


def select_scenarios(spec: str | None, project_root: str | Path | None = None) -> list[Scenario]:
    """Scenarios for ``--chaos-scenarios``: comma-separated names, files, folders, globs
    (paths from the project root) or ``tag:NAME`` (library scenarios with that tag)."""
    dirs = default_dirs(project_root)
    if not spec:
        return sorted(load_library(dirs).values(), key=lambda s: s.name)
    library: dict[str, Scenario] | None = None
    chosen: dict[str, Scenario] = {}
    for part in (p.strip() for p in spec.split(",")):
        if not part:
            continue
        path = locate(part, project_root)
        if part.startswith("tag:"):
            library = library if library is not None else load_library(dirs)
            tag = part.removeprefix("tag:")
            items = [s for _, s in sorted(library.items()) if tag in s.tags]
            if not items:
                known = sorted({t for s in library.values() for t in s.tags})
                problem = f"no scenario has the tag {tag!r}; tags: {', '.join(known)}"
                raise ScenarioError([ScenarioProblem(part, None, "", problem)])
        elif path.is_dir() or path.is_file():
            items = list(load_library([path]).values()) if path.is_dir() else [load_file(path)]
        elif any(ch in part for ch in "*?["):
            library = library if library is not None else load_library(dirs)
            from fnmatch import fnmatch

            items = [s for n, s in library.items() if fnmatch(n, part)]
            base = Path(project_root) if project_root is not None else Path()
            items += [load_file(f) for f in sorted(base.glob(part)) if f.suffix in _SUFFIXES]
            if not items:
                raise ScenarioError([ScenarioProblem(part, None, "", "matches no scenario")])
        else:
            items = [load_scenario(part, project_root=project_root)]
        for s in items:
            chosen.setdefault(s.name, s)
    return list(chosen.values())


def schema_text() -> str:
    return json.dumps(scenario_json_schema(), indent=2, sort_keys=True) + "\n"


def resolve(
    items: Iterable[str | Path | Scenario], project_root: str | Path | None
) -> list[Scenario]:
    """Scenarios given as objects, library names or file paths, in order."""
    return [
        item if isinstance(item, Scenario) else load_scenario(item, project_root=project_root)
        for item in items
    ]

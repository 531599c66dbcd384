"""Load a user's blueprint.py: import it, collect its Blueprint, check the paths it names.

Whatever goes wrong in the user's file (a syntax error, an exception, an invalid declaration)
becomes a BlueprintError that points at the user's file and line, never a devkit traceback.
"""

from __future__ import annotations

import hashlib
import importlib.util
import sys
import traceback
from pathlib import Path
from types import ModuleType, TracebackType

from pydantic import ValidationError

from devkit.errors import BlueprintError, DevkitError, UserError
from devkit.model.blueprint import Blueprint
from devkit.model.validation import error_lines
from devkit.source import SourceLocation, display_path, is_user_code

FILENAME = "blueprint.py"


def find_blueprint(path: Path | None = None) -> Path:
    """The blueprint file: `path` itself, `path/blueprint.py`, or ./blueprint.py."""
    candidate = Path.cwd() / FILENAME if path is None else path
    if candidate.is_dir() and (candidate / FILENAME).is_file():
        candidate = candidate / FILENAME
    if candidate.is_dir():
        shown = display_path(str(candidate))
        raise UserError(
            f"{shown} is a directory without {FILENAME} inside",
            details=[
                f"put the blueprint at {display_path(str(candidate / FILENAME))} (`devkit init` "
                "writes one), or point at the file with -f PATH"
            ],
        )
    if not candidate.is_file():
        raise UserError(
            f"no blueprint found at {display_path(str(candidate))}",
            details=["create one with `devkit init`, or point at one with -f PATH"],
        )
    return candidate.resolve()


def load_blueprint(path: Path | None = None) -> Blueprint:
    """Import the blueprint file and return its Blueprint, checked for paths that do not exist."""
    file = find_blueprint(path)
    module = _import(file)
    blueprint = _collect(module, file)
    blueprint.file = file
    check_paths(blueprint)
    return blueprint


def _import(file: Path) -> ModuleType:
    name = "devkit_blueprint_" + hashlib.sha256(str(file).encode()).hexdigest()[:12]
    spec = importlib.util.spec_from_file_location(name, file)
    if spec is None or spec.loader is None:  # pragma: no cover - only for non-.py paths
        raise UserError(f"{display_path(str(file))} cannot be imported as Python")
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(file.parent))
    sys.modules[name] = module
    writes_bytecode = sys.dont_write_bytecode
    sys.dont_write_bytecode = True  # loading a blueprint leaves no __pycache__ in the user's repo
    try:
        spec.loader.exec_module(module)
    except DevkitError as exc:
        if exc.location is None:
            exc.location = _user_frame(exc.__traceback__, file)
            exc.args = (exc.render(),)
        raise
    except SyntaxError as exc:
        raise _syntax_error(exc, file) from None
    except ValidationError as exc:
        lines = error_lines(exc)
        raise BlueprintError(
            f"invalid {exc.title}: {lines[0]}",
            location=_user_frame(exc.__traceback__, file),
            details=lines[1:],
        ) from None
    except SystemExit as exc:
        # sys.exit() while loading: it would end devkit silently (or with the blueprint's code).
        code = exc.code
        raise BlueprintError(
            f"the blueprint called sys.exit({'' if code is None else repr(code)}) while loading"
            + (f" (exit code {code})" if isinstance(code, int) else ""),
            location=_user_frame(exc.__traceback__, file),
            details=[
                "a blueprint only declares; raise an exception (or let devkit report the "
                "problem) instead of exiting",
                *_user_traceback(exc.__traceback__, file),
            ],
        ) from None
    except Exception as exc:  # noqa: BLE001 - any error in user code is reported as theirs
        raise BlueprintError(
            f"{type(exc).__name__} raised while loading the blueprint: {exc}",
            location=_user_frame(exc.__traceback__, file),
            details=_user_traceback(exc.__traceback__, file),
        ) from None
    finally:
        sys.dont_write_bytecode = writes_bytecode
        sys.modules.pop(name, None)
        sys.path.remove(str(file.parent))
    return module


def _syntax_error(exc: SyntaxError, file: Path) -> BlueprintError:
    location = SourceLocation(exc.filename or str(file), exc.lineno or 1)
    details: list[str] = []
    if exc.text:
        text = exc.text.rstrip("\n")
        details.append(text.strip())
        if exc.offset:
            indent = len(text) - len(text.lstrip())
            details.append(" " * max(exc.offset - 1 - indent, 0) + "^")
    return BlueprintError(f"syntax error: {exc.msg}", location=location, details=details)


def _user_frames(tb: TracebackType | None) -> list[traceback.FrameSummary]:
    return [f for f in traceback.extract_tb(tb) if is_user_code(f.filename)]


def _user_frame(tb: TracebackType | None, file: Path) -> SourceLocation:
    """The innermost frame in the user's code, or the blueprint file itself."""
    frames = _user_frames(tb)
    if not frames:
        return SourceLocation(str(file), 1)
    return SourceLocation(frames[-1].filename, frames[-1].lineno or 1)


def _user_traceback(tb: TracebackType | None, file: Path) -> list[str]:
    """The user's own call chain, when the error came from a function they called."""
    frames = _user_frames(tb)
    if len(frames) <= 1:
        return []
    return [
        f"called from {display_path(f.filename)}:{f.lineno} in {f.name}" for f in frames[-2::-1]
    ]


def _collect(module: ModuleType, file: Path) -> Blueprint:
    found = {name: value for name, value in vars(module).items() if isinstance(value, Blueprint)}
    distinct = {id(value): value for value in found.values()}
    if not distinct:
        raise BlueprintError(
            'defines no Blueprint; add `app = Blueprint("NAME")` at module level',
            location=SourceLocation(str(file), 1),
        )
    if len(distinct) > 1:
        made = sorted(distinct.values(), key=lambda b: b.source.line if b.source is not None else 0)
        names = {id(value): name for name, value in found.items()}
        first, second = made[0], made[1]
        raise BlueprintError(
            f"defines {len(distinct)} blueprints ({', '.join(sorted(found))}); keep one per file",
            location=_in_file(second.source, file),
            details=[
                f'the first, "{first.name}" ({names[id(first)]}), is at '
                f"{_in_file(first.source, file)}"
            ],
        )
    return next(iter(distinct.values()))


def _in_file(source: SourceLocation | None, file: Path) -> SourceLocation:
    return source if source is not None else SourceLocation(str(file), 1)


def check_paths(blueprint: Blueprint) -> None:
    """Every build context, Dockerfile and sync source the blueprint names must exist."""
    root = blueprint.root or Path.cwd()
    for service in blueprint.services.values():
        where = f'service "{service.name}"'
        if service.build is not None:
            context = root / service.build.context
            if not context.is_dir():
                raise BlueprintError(
                    f'{where}: build context "{service.build.context}" does not exist',
                    location=service.source,
                    details=[f"looked for the directory {display_path(str(context))}"],
                )
            dockerfile = context / service.build.dockerfile
            if not dockerfile.is_file():
                raise BlueprintError(
                    f'{where}: build context "{service.build.context}" has no '
                    f"{service.build.dockerfile}",
                    location=service.source,
                    details=[f"looked for the file {display_path(str(dockerfile))}"],
                )
        for rule in service.sync:
            if not (root / rule.src).exists():
                raise BlueprintError(
                    f'{where}: sync source "{rule.src}" does not exist',
                    location=service.source,
                    details=[f"looked for {display_path(str(root / rule.src))}"],
                )

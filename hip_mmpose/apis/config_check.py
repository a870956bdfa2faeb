"""Configs from files we did not write, checked as data before anything is built.

Two readers, neither of which imports, calls or executes anything the file names:

- :func:`check_config` / :func:`load_published_config`: the JSON config embedded
  in a published model (``tools/publish_model.py``). Every ``type`` must be a plain
  (undotted) name already registered in the mmengine, mmpose (with hip_mmpose's
  modules) or mmpretrain registries; ``default_scope`` is ``'mmpose'``; a
  ``_scope_`` may only name one of those packages; ``custom_imports`` and
  top-level keys a pose config does not use are refused, as is a metainfo
  ``from_file`` (MMPose executes that file). The error names the key
  path, e.g. ``model.head.loss.type: 'os.system' is not a registered type``.
- :func:`read_config_text`: the Python config text MMEngine stores in a training
  checkpoint (``meta['cfg']``, a ``Config.pretty_text``). It is parsed with
  :mod:`ast` and only assignments of ``dict(...)``, lists, tuples, dicts and
  constants are accepted; nothing is executed.

Why: MMEngine's registries build whatever ``type`` names, a dotted ``type`` or a
``default_scope``/``_scope_`` imports that module, and ``custom_imports`` imports
any module; a Python config runs when parsed.
"""

from __future__ import annotations

import ast
import json
from typing import Any

SCOPE = 'mmpose'
ALLOWED_SCOPES = ('mmpose', 'mmpretrain', 'mmengine')
# Top-level keys of the configs under configs/ (MMEngine Runner + MMPose data/model).
ALLOWED_TOP_LEVEL_KEYS = frozenset(
    {
        'auto_scale_lr',
        'backend_args',
        'codec',
        'custom_hooks',
        'data_root',
        'dataset_type',
        'default_hooks',
        'default_scope',
        'env_cfg',
        'input_size',
        'load_from',
        'log_level',
        'log_processor',
        'model',
        'optim_wrapper',
        'param_scheduler',
        'resume',
        'test_cfg',
        'test_dataloader',
        'test_evaluator',
        'train_cfg',
        'train_dataloader',
        'train_pipeline',
        'val_cfg',
        'val_dataloader',
        'val_evaluator',
        'val_pipeline',
        'vis_backends',
        'visualizer',
        'work_dir',
        'randomness',
        'launcher',
        'experiment_name',
        'data_mode',
        'metainfo',
        'test_pipeline',
        'find_unused_parameters',
        'model_wrapper_cfg',
        'max_epochs',
    }
)
#: The deepest nesting of dicts and lists a config may have (ours: under 10).
MAX_CONFIG_DEPTH = 32
#: The longest config text read (ours: about 10 kB of JSON).
MAX_CONFIG_CHARS = 1 << 20
_REGISTRY_MODULES = ('mmengine.registry', 'mmpose.registry', 'mmpretrain.registry')
_registered: frozenset | None = None


class ConfigCheckError(ValueError):
    """A config refused as data; the message names the source and the key path."""


def registered_type_names() -> frozenset:
    """Every name registered in the mmengine / mmpose / hip_mmpose / mmpretrain registries.

    Reads each registry's module dict directly (``Registry.get`` may import a
    module for a scoped name). Only the stack's own fixed registry locations are
    imported, never a name from a config. hip_mmpose registers into mmpose's
    registries (``import hip_mmpose``). Computed once, then cached.

    Returns:
        frozenset: the registered type names (str) of every registry in those scopes.
    """
    global _registered
    if _registered is not None:
        return _registered
    import importlib

    from mmengine.registry import Registry

    import hip_mmpose  # noqa: F401  (hip_mmpose's modules registered)

    names: set[str] = set()
    seen: set[int] = set()
    stack = []
    for module_name in _REGISTRY_MODULES:
        module = importlib.import_module(module_name)
        stack += [v for v in vars(module).values() if isinstance(v, Registry)]
    while stack:
        registry = stack.pop()
        if id(registry) in seen:
            continue
        seen.add(id(registry))
        if registry.scope not in ALLOWED_SCOPES:
            continue
        registry.import_from_location()  # the registry's own fixed locations only
        names.update(registry._module_dict)
        stack += list(registry._children.values())
    _registered = frozenset(names)
    return _registered


def check_config(cfg: dict, source: str = 'config') -> dict:
    """Check a config given as plain data; returns it with ``default_scope='mmpose'``.

    Args:
        cfg (dict): the config as nested dicts/lists (e.g. ``json.loads`` of a
            published model's ``meta['config']``). It is not modified.
        source (str): the file it came from, for the error message. Defaults to
            'config'.

    Returns:
        dict: a plain-JSON copy of ``cfg`` with ``default_scope`` set to ``'mmpose'``.

    Raises:
        ConfigCheckError: the first problem found, naming ``source`` and the key path.
    """

    def refuse(path, what):
        raise ConfigCheckError(f'{source}: {path}: {what}')

    if not isinstance(cfg, dict):
        refuse('(top level)', f'expected a mapping of config keys, got {type(cfg).__name__}')
    for key in cfg:
        if key == 'custom_imports':
            refuse(key, 'refused: custom_imports would import modules (hip_mmpose imports its own)')
        if key not in ALLOWED_TOP_LEVEL_KEYS:
            refuse(
                key,
                f'unknown top-level key {key!r} (allowed: '
                f'{", ".join(sorted(ALLOWED_TOP_LEVEL_KEYS))})',
            )
    scope = cfg.get('default_scope', SCOPE)
    if scope != SCOPE:
        refuse('default_scope', f'{scope!r} refused: the scope is fixed to {SCOPE!r}')
    names = registered_type_names()

    def visit(value: Any, path: str, data_only: bool = False, depth: int = 0):
        # data_only: inside a data set's metainfo, where 'type' is a keypoint's
        # body half ('upper'/'lower'), not something to build
        if depth > MAX_CONFIG_DEPTH:
            refuse(path, f'nested deeper than {MAX_CONFIG_DEPTH} levels; not a config')
        if isinstance(value, dict):
            for key, item in value.items():
                if not isinstance(key, str):
                    refuse(path or '(top level)', f'key {key!r} is not a string')
                where = f'{path}.{key}' if path else key
                if key == 'from_file':
                    refuse(
                        where,
                        'refused: MMPose would execute that Python file (give the metainfo inline)',
                    )
                elif key in ('metainfo', 'dataset_info') or data_only:
                    visit(item, where, True, depth + 1)
                elif key == 'type':
                    check_type(item, where)
                elif key == '_scope_':
                    if item not in ALLOWED_SCOPES:
                        refuse(
                            where,
                            f'{item!r} refused: a scope must be one of {", ".join(ALLOWED_SCOPES)}',
                        )
                elif key == 'custom_imports':
                    refuse(where, 'refused: custom_imports would import modules')
                else:
                    visit(item, where, False, depth + 1)
        elif isinstance(value, (list, tuple)):
            for i, item in enumerate(value):
                visit(item, f'{path}[{i}]', data_only, depth + 1)
        elif not (value is None or isinstance(value, (str, bool, int, float))):
            refuse(path, f'{type(value).__name__} value refused (only plain data)')

    def check_type(name, where):
        if not isinstance(name, str):
            refuse(where, f'{name!r} refused: a type must be a registered name (a string)')
        if '.' in name:
            refuse(
                where,
                f'{name!r} refused: a dotted type would import a module; only '
                'plain registered names are allowed',
            )
        if name not in names:
            refuse(
                where,
                f'{name!r} is not a registered type (mmpose, hip_mmpose, '
                'mmpretrain and mmengine registries)',
            )

    visit(cfg, '')
    checked = json.loads(json.dumps(cfg))  # a copy, plain JSON types only
    checked['default_scope'] = SCOPE
    return checked


def load_published_config(text, source: str = 'published model') -> dict:
    """Parse and check the JSON config text of a published model.

    Args:
        text (str): ``meta['config']`` of a ``hip_mmpose-published-v1`` file.
        source (str): the file, for the error message. Defaults to
            'published model'.

    Returns:
        dict: the checked config (see :func:`check_config`).

    Raises:
        ConfigCheckError: not JSON, or refused by :func:`check_config`.
    """
    if not isinstance(text, str):
        raise ConfigCheckError(
            f'{source}: meta.config: expected JSON text, got {type(text).__name__}'
        )
    if len(text) > MAX_CONFIG_CHARS:
        raise ConfigCheckError(
            f'{source}: meta.config: {len(text)} characters, more than the '
            f'{MAX_CONFIG_CHARS} a config may have'
        )
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise ConfigCheckError(f'{source}: meta.config: not valid JSON ({err})') from None
    except RecursionError:
        raise ConfigCheckError(
            f'{source}: meta.config: nested too deep to read; not a config'
        ) from None
    return check_config(data, source)


def read_config_text(text: str, source: str = 'config text') -> dict:
    """Read a ``Config.pretty_text`` (MMEngine's ``meta['cfg']``) without executing it.

    Args:
        text (str): Python source made only of ``name = value`` assignments whose
            values are constants, lists, tuples, dict displays or
            ``dict(key=value, ...)``.
        source (str): the file it came from, for the error message. Defaults to
            'config text'.

    Returns:
        dict: ``{name: value}`` as plain Python data (tuples kept as tuples).

    Raises:
        ConfigCheckError: a syntax error or any other construct (imports, calls
            other than ``dict``, names, attribute access, comprehensions, ...),
            naming its line.
    """
    if not isinstance(text, str) or len(text) > MAX_CONFIG_CHARS:
        raise ConfigCheckError(
            f'{source}: config text: expected at most {MAX_CONFIG_CHARS} characters of '
            f'text, got {type(text).__name__}'
            + (f' of {len(text)}' if isinstance(text, str) else '')
        )
    try:
        tree = ast.parse(text, mode='exec')
    except SyntaxError as err:
        raise ConfigCheckError(f'{source}: not a config (syntax error line {err.lineno})') from None
    except (RecursionError, MemoryError):
        raise ConfigCheckError(f'{source}: config text nested too deep to read') from None

    def refuse(node, what):
        raise ConfigCheckError(
            f'{source}: line {getattr(node, "lineno", "?")}: {what} '
            'refused (only assignments of plain data are read)'
        )

    def value(node):
        if isinstance(node, ast.Constant):
            return node.value
        if (
            isinstance(node, ast.UnaryOp)
            and isinstance(node.op, (ast.USub, ast.UAdd))
            and isinstance(node.operand, ast.Constant)
            and isinstance(node.operand.value, (int, float))
            and not isinstance(node.operand.value, bool)
        ):
            return -node.operand.value if isinstance(node.op, ast.USub) else node.operand.value
        if isinstance(node, ast.List):
            return [value(n) for n in node.elts]
        if isinstance(node, ast.Tuple):
            return tuple(value(n) for n in node.elts)
        if isinstance(node, ast.Dict):
            if any(k is None for k in node.keys):
                refuse(node, '** in a dict')
            return {value(k): value(v) for k, v in zip(node.keys, node.values)}
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == 'dict'
            and not node.args
            and all(kw.arg is not None for kw in node.keywords)
        ):
            return {kw.arg: value(kw.value) for kw in node.keywords}
        refuse(node, f'{type(node).__name__} ({ast.unparse(node)[:60]!r})')

    result = {}
    for stmt in tree.body:
        if not (
            isinstance(stmt, ast.Assign)
            and len(stmt.targets) == 1
            and isinstance(stmt.targets[0], ast.Name)
        ):
            refuse(stmt, f'statement {ast.unparse(stmt)[:60]!r}')
        try:
            result[stmt.targets[0].id] = value(stmt.value)
        except RecursionError:
            raise ConfigCheckError(
                f'{source}: line {stmt.lineno}: nested too deep to read; not a config'
            ) from None
    return result


def undot_scoped_types(cfg: Any) -> Any:
    """Rewrite ``type='scope.Name'`` as ``type='Name', _scope_='scope'``, recursively.

    E.g. ``type='mmpretrain.EfficientNetV2'`` -> ``type='EfficientNetV2',
    _scope_='mmpretrain'``. Only for a scope in :data:`ALLOWED_SCOPES` (MMEngine
    builds both forms the same way) and a dict without its own ``_scope_``; used
    when publishing our own configs, so that the published file holds plain names
    only. Other dotted names are left for :func:`check_config` to refuse.

    Args:
        cfg (Any): a config value: dicts, lists and tuples are walked, anything
            else is returned as is. It is not modified.

    Returns:
        Any: a copy of ``cfg`` (same container types) with the scoped types undotted.
    """
    if isinstance(cfg, dict):
        out = {k: undot_scoped_types(v) for k, v in cfg.items()}
        name = out.get('type')
        if isinstance(name, str) and name.count('.') == 1 and '_scope_' not in out:
            scope, plain = name.split('.')
            if scope in ALLOWED_SCOPES:
                out['type'], out['_scope_'] = plain, scope
        return out
    if isinstance(cfg, (list, tuple)):
        return type(cfg)(undot_scoped_types(v) for v in cfg)
    return cfg


def published_config(cfg: dict, source: str = 'config') -> dict:
    """The config to embed in a published model, from our own config as data.

    ``custom_imports`` naming only hip_mmpose modules is dropped (the loader
    imports hip_mmpose itself; any other is refused), scoped types are undotted
    (:func:`undot_scoped_types`), then :func:`check_config` must accept it, so a
    published file always loads.

    Args:
        cfg (dict): the config as plain data (e.g. :func:`read_config_text`'s
            result). It is not modified.
        source (str): the file it came from, for the error message. Defaults to
            'config'.

    Returns:
        dict: the checked config, as :func:`check_config` returns it.

    Raises:
        ConfigCheckError: ``custom_imports`` naming another module, or a config
            :func:`check_config` refuses.
    """
    cfg = dict(cfg)
    imports = cfg.pop('custom_imports', None)
    if imports is not None:
        modules = imports.get('imports', []) if isinstance(imports, dict) else None
        modules = [modules] if isinstance(modules, str) else modules
        if not isinstance(modules, (list, tuple)) or not all(
            isinstance(m, str) and (m == 'hip_mmpose' or m.startswith('hip_mmpose.'))
            for m in modules
        ):
            raise ConfigCheckError(
                f'{source}: custom_imports: {imports!r} refused (only '
                'hip_mmpose modules may be named)'
            )
    return check_config(undot_scoped_types(cfg), source)


def published_config_from_text(text: str, source: str = 'checkpoint') -> dict:
    """:func:`published_config` of a checkpoint's ``meta['cfg']`` text, never executed.

    Args:
        text (str): the ``Config.pretty_text`` MMEngine stores in a training
            checkpoint, read by :func:`read_config_text`.
        source (str): the checkpoint, for the error message. Defaults to
            'checkpoint'.

    Returns:
        dict: the checked config to embed in a published model.
    """
    return published_config(read_config_text(text, source), source)

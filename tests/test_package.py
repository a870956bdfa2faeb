"""The package as a user installs it into an existing MMPose environment: a built,
non-editable wheel (configs and metainfo inside), used with no checkout in sight."""

import json
import os
import shutil
import subprocess
import sys
import textwrap
import zipfile

from tests.conftest import REPO

CHECK = textwrap.dedent("""
    import json, sys
    import hip_mmpose
    from hip_mmpose.utils.config_files import METAINFO_FILE, config_path
    from hip_mmpose.apis.run_config import set_data_paths
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmpose.registry import DATASETS

    cfg = Config.fromfile(config_path('hip_effv2_cbam_cpu.py'))  # found in the package
    set_data_paths(cfg, sys.argv[1], sys.argv[2])
    init_default_scope('mmpose')
    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    sample = dataset[0]  # the config's whole training pipeline
    json.dump(dict(package=hip_mmpose.__file__, config=cfg.filename, metainfo=METAINFO_FILE,
                   film_stage=cfg.film_stage.config, hips=len(dataset),
                   keypoints=dataset.metainfo['num_keypoints'],
                   input=list(sample['inputs'].shape)), open(sys.argv[3], 'w'))
""")


def test_wheel_installs_outside_the_checkout_and_runs(synthetic_root, tmp_path):
    """Build a wheel, install it with --no-deps into a folder outside the checkout and,
    from another directory with only that folder on PYTHONPATH (plus the stack's
    site-packages), load a packaged config, build its dataset, run a console script."""
    src = tmp_path / 'src'  # the sources only: a stale build/ of the checkout stays out
    for name in ('hip_mmpose', 'configs'):
        shutil.copytree(
            REPO / name,
            src / name,
            symlinks=True,
            ignore=shutil.ignore_patterns('__pycache__', '*.egg-info'),
        )
    for name in ('pyproject.toml', 'setup.py', 'README.md'):
        shutil.copy(REPO / name, src / name)
    pip = [sys.executable, '-m', 'pip', '--disable-pip-version-check', '-q']
    subprocess.run(
        [
            *pip,
            'wheel',
            '--no-deps',
            '--no-build-isolation',
            '-w',
            str(tmp_path / 'dist'),
            str(src),
        ],
        check=True,
        timeout=300,
    )
    wheel = next((tmp_path / 'dist').glob('hip_mmpose-*.whl'))
    names = zipfile.ZipFile(wheel).namelist()
    assert 'hip_mmpose/.mim/configs/_base_/datasets/hip_xray.py' in names
    assert 'hip_mmpose/.mim/configs/hip_effv2_cbam_cpu.py' in names
    assert not [n for n in names if n.startswith(('tests/', 'tools/', 'configs/'))]
    site = tmp_path / 'site'
    subprocess.run(
        [*pip, 'install', '--no-deps', '--no-index', '--target', str(site), str(wheel)],
        check=True,
        timeout=300,
    )

    elsewhere = tmp_path / 'elsewhere'
    elsewhere.mkdir()
    env = dict(os.environ, PYTHONPATH=str(site), OMP_NUM_THREADS='1')
    coco = tmp_path / 'coco'
    convert = subprocess.run(
        [
            str(site / 'bin' / 'hip-convert'),
            str(synthetic_root),
            '--out-dir',
            str(coco),
            '--no-progress',
        ],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert convert.returncode == 0, convert.stderr
    assert f'train: {coco / "train.json"}' in convert.stdout

    check = subprocess.run(
        [sys.executable, '-c', CHECK, str(synthetic_root), str(coco), str(tmp_path / 'found.json')],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert check.returncode == 0, check.stderr
    found = json.loads((tmp_path / 'found.json').read_text())
    for key in ('package', 'config', 'metainfo'):
        assert found[key].startswith(str(site / 'hip_mmpose')), (key, found[key])
    assert found['film_stage'] == './hip_effv2_cbam_film_cpu.py'
    assert found['hips'] == 2 * 4 and found['keypoints'] == 6
    assert found['input'] == [3, 192, 192]


ABSENT = textwrap.dedent("""
    import sys, importlib.abc
    class Absent(importlib.abc.MetaPathFinder):  # as if mmpretrain were not installed
        def find_spec(self, name, path, target=None):
            if name.split('.')[0] == 'mmpretrain':
                raise ModuleNotFoundError(f'No module named {name!r}', name='mmpretrain')
    sys.meta_path.insert(0, Absent())
    sys.path.insert(0, sys.argv[1])
    from hip_mmpose.tools.train import main
    sys.exit(main(['configs/hip_effv2_cbam_cpu.py', '--data-root', sys.argv[2]]))
""")


def test_a_missing_stack_package_is_named(synthetic_root, tmp_path):
    """An MMPose environment without mmpretrain: `import hip_mmpose` succeeds (the
    torch-free runtime needs that), so training stops at once naming what is missing
    instead of failing later on an unregistered dataset."""
    proc = subprocess.run(
        [sys.executable, '-c', ABSENT, str(REPO), str(synthetic_root)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        env=dict(os.environ, OMP_NUM_THREADS='1'),
    )
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines()[-1] == (
        'error: configs/hip_effv2_cbam_cpu.py needs the training stack; mmpretrain is not '
        'installed (pip install "hip_mmpose[mmpose]", README)'
    )


def _module_imports(path, name, is_package):
    """The hip_mmpose modules ``path`` imports at module level (not inside functions)."""
    import ast

    def walk(nodes):
        for node in nodes:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                continue
            if isinstance(node, ast.ImportFrom):
                base = name.split('.') if is_package else name.split('.')[:-1]
                if node.level:
                    base = base[: len(base) - node.level + 1]
                    module = '.'.join(base + ([node.module] if node.module else []))
                else:
                    module = node.module
                for alias in node.names:
                    yield module, f'{module}.{alias.name}'
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    yield alias.name, alias.name
            yield from walk(ast.iter_child_nodes(node))

    return list(walk(ast.parse(path.read_text()).body))


def test_no_import_circles_and_no_loose_modules():
    """The package's layout (DEVELOPERS.md, Architecture): no module-level import circle
    between its modules, only the geometry at the package's top, no re-export shims."""
    root = REPO / 'hip_mmpose'
    modules = {}
    for path in root.rglob('*.py'):
        parts = path.relative_to(REPO).with_suffix('').parts
        name = '.'.join(parts[:-1] if parts[-1] == '__init__' else parts)
        modules[name] = path
    graph = {}
    for name, path in modules.items():
        deps = set()
        for module, member in _module_imports(path, name, path.name == '__init__.py'):
            target = member if member in modules else module
            if target in modules and target != name and not name.startswith(target + '.'):
                deps.add(target)
        graph[name] = deps

    def reaches(start, goal, seen):
        for nxt in graph[start]:
            if nxt == goal:
                return [nxt]
            if nxt not in seen:
                seen.add(nxt)
                path = reaches(nxt, goal, seen)
                if path:
                    return [nxt] + path
        return None

    circles = {name: reaches(name, name, set()) for name in graph}
    circles = {
        k: v for k, v in circles.items() if v and k != 'hip_mmpose' and 'hip_mmpose' not in v
    }
    assert not circles, circles
    top = sorted(p.name for p in root.glob('*.py'))
    assert top == ['__init__.py', 'geometry.py'], top
    shims = [str(p) for p in root.rglob('*.py') if 'import *' in p.read_text()]
    assert not shims, shims


def test_every_public_function_and_class_has_a_docstring():
    """Issue 17's rule: every public function, class and method of the package says
    what it does (Args/Returns as mmpretrain's); a private helper (``_name``) may not."""
    import ast

    missing = []
    for path in sorted((REPO / 'hip_mmpose').rglob('*.py')):
        tree = ast.parse(path.read_text(encoding='utf-8'))
        for node in tree.body:
            if not isinstance(node, (ast.FunctionDef, ast.ClassDef)) or node.name[0] == '_':
                continue
            if not ast.get_docstring(node):
                missing.append(f'{path.relative_to(REPO)}: {node.name}')
            if isinstance(node, ast.ClassDef):
                missing += [
                    f'{path.relative_to(REPO)}: {node.name}.{m.name}'
                    for m in node.body
                    if isinstance(m, ast.FunctionDef)
                    and m.name[0] != '_'
                    and not ast.get_docstring(m)
                ]
    assert not missing, missing

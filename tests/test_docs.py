"""The documentation against the code: what README.md and docs/*.md name must exist.

- every ``tools/*.py|sh`` and ``hip-*`` command named exists, and every ``--option``
  is one of the named tool's own argparse options (the parser the tool builds);
- every ``make`` target and variable named is in the Makefile;
- every relative link (and picture) resolves to a file, and its ``#anchor`` to a heading;
- every config and every repository path named exists;
- every path inside the checkout that a README command reads was made by an earlier
  README command (``make`` targets expanded by ``make -n``) or is in the repository;
- the README's Python snippets run as written on the synthetic set and a tiny model;
  the Python snippets of docs/ compile and their imports resolve.

A feature another change is still adding is listed in :data:`PENDING` (its checks are
``xfail(strict=False)``); delete its entry once it is merged.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import functools
import importlib
import importlib.util
import io
import re
import runpy
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO

DOCS = [REPO / 'README.md', *sorted((REPO / 'docs').glob('*.md'))]
#: pages whose links and paths are checked too (their commands are not)
LINKED = [*DOCS, REPO / 'DEVELOPERS.md', REPO / 'CHANGELOG.md']

#: checks of features other changes are adding, by check id: the reason
PENDING: dict = {}

#: options of other programs named in prose (pip's, in docs/deployment.md)
EXTERNAL_OPTIONS = {'--no-deps', '--no-build-isolation'}
#: argparse destinations (and their options) that name what a tool writes
OUTPUT_DESTS = {'out_dir', 'work_dir', 'report', 'dump', 'out_file', 'export'}
OUTPUT_OPTIONS = {'--out-dir', '--work-dir', '--report', '--dump', '--export'}
TOOL = r'tools/[A-Za-z0-9_]+\.(?:py|sh)'
#: the shell scripts whose extra arguments go to a Python tool
SCRIPT_ARGS = {
    'tools/dist_train.sh': 'tools/train.py',
    'tools/dist_test.sh': 'tools/test.py',
    'tools/benchmark_accuracy.sh': 'tools/train.py',
}


def _pending(check_id: str):
    """``check_id`` as a pytest parameter, xfail while its feature is pending."""
    if check_id in PENDING:
        return pytest.param(
            check_id, marks=pytest.mark.xfail(strict=False, reason=PENDING[check_id])
        )
    return check_id


def _rel(path: Path) -> str:
    return str(path.relative_to(REPO))


# ------------------------------------------------------------------ reading the pages


@functools.cache
def _blocks(page: Path) -> list[tuple[str, str, str, str]]:
    """The page as ``(kind, language, text, heading)`` blocks in order: ``kind`` is
    'code' (a fenced block) or 'para' (a paragraph of prose); ``heading`` is the
    section's heading."""
    blocks, heading, para, fence, lang, code = [], '', [], None, '', []
    for line in page.read_text().splitlines():
        if fence is not None:
            if line.strip().startswith(fence):
                blocks.append(('code', lang, '\n'.join(code), heading))
                fence, code = None, []
            else:
                code.append(line)
            continue
        match = re.match(r'\s*(```+)\s*(\w*)', line)
        if match:
            if para:
                blocks.append(('para', '', '\n'.join(para), heading))
                para = []
            fence, lang = match.group(1), match.group(2)
            continue
        if line.startswith('#'):
            if para:
                blocks.append(('para', '', '\n'.join(para), heading))
                para = []
            heading = line
            blocks.append(('heading', '', line, heading))
        elif line.strip():
            if para and re.match(r'\s*(?:[-*]|\d+\.) ', line):  # a list item: its own
                blocks.append(('para', '', '\n'.join(para), heading))
                para = []
            para.append(line)
        elif para:
            blocks.append(('para', '', '\n'.join(para), heading))
            para = []
    if para:
        blocks.append(('para', '', '\n'.join(para), heading))
    return blocks


def _spans(text: str) -> list[str]:
    return re.findall(r'`([^`\n]+)`', text.replace('\n', ' '))


def _split_commands(text: str) -> list[list[str]]:
    """Shell commands of a code block or span: continuations joined, comments and
    ``$ `` prompts dropped, pipelines split."""
    commands = []
    for line in text.replace('\\\n', ' ').splitlines():
        line = line.strip()
        if line.startswith('$ '):
            line = line[2:]
        try:
            tokens = shlex.split(line, comments=True)
        except ValueError:
            tokens = line.split()
        command = []
        for token in tokens + ['|']:
            if token in ('|', '||', '&&', ';'):
                if command:
                    commands.append(command)
                command = []
            else:
                command.append(token)
    return commands


def _program(tokens: list[str]) -> tuple[str | None, list[str]]:
    """The program a command runs (``tools/x.py``, ``hip-x``, ``make``, ``pip``, ...)
    and its arguments; leading ``VAR=value`` assignments are skipped."""
    i = 0
    while i < len(tokens) and re.fullmatch(r'[A-Z_][A-Z0-9_]*=\S*', tokens[i]):
        i += 1
    if i >= len(tokens):
        return None, []
    prog = tokens[i]
    if re.search(r'(^|/)python3?$', prog) and i + 1 < len(tokens):
        if tokens[i + 1] == '-m' and i + 2 < len(tokens):
            return f'-m {tokens[i + 2]}', tokens[i + 3 :]
        i += 1
        prog = tokens[i]
    found = re.search(rf'(?:^|\./|/){TOOL}$', prog)
    if found and re.fullmatch(rf'(\./)?{TOOL}', prog):
        prog = prog.removeprefix('./')
    return prog, tokens[i + 1 :]


def _is_tool(prog: str | None) -> bool:
    return bool(prog) and (
        re.fullmatch(TOOL, prog) is not None or re.fullmatch(r'hip-[a-z-]+', prog) is not None
    )


def _tool_names(text: str) -> list[str]:
    """``tools/x.py`` names in text (not ``hip_mmpose/tools/...``)."""
    return re.findall(rf'(?<![\w/.]){TOOL}', text)


# ------------------------------------------------------------------ what the code has


@functools.cache
def _scripts() -> dict[str, str]:
    """``pyproject.toml``'s console scripts: ``{'hip-x': 'module:function'}``."""
    text = (REPO / 'pyproject.toml').read_text()
    section = text.split('[project.scripts]', 1)[1].split('\n[', 1)[0]
    return dict(re.findall(r'^([\w-]+)\s*=\s*"([\w.:]+)"', section, re.M))


class _Parser(BaseException):
    def __init__(self, parser):
        super().__init__()
        self.parser = parser


def _captured(main) -> argparse.ArgumentParser:
    """The parser ``main`` builds: ``main([])`` runs until it parses its arguments."""

    def stop(self, args=None, namespace=None):
        raise _Parser(self)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(argparse.ArgumentParser, 'parse_known_args', stop)
        try:
            main([])
        except _Parser as got:
            return got.parser
    raise AssertionError(f'{main} parsed no arguments')


@functools.cache
def _parser(tool: str) -> argparse.ArgumentParser | None:
    """The argparse parser of ``tools/x.py`` or ``hip-x``; None where it has none (a
    shell script) or does not exist."""
    tool = SCRIPT_ARGS.get(tool, tool)
    if tool.startswith('hip-'):
        if tool not in _scripts():
            return None
        module, func = _scripts()[tool].split(':')
        return _captured(getattr(importlib.import_module(module), func))
    if not tool.endswith('.py') or not (REPO / tool).is_file():
        return None
    name = Path(tool).stem
    if (REPO / 'hip_mmpose' / 'tools' / f'{name}.py').is_file():
        main = importlib.import_module(f'hip_mmpose.tools.{name}').main
    else:  # a checkout-only script
        main = runpy.run_path(str(REPO / tool), run_name='docs_check')['main']
    return _captured(main)


def _tool_exists(tool: str) -> bool:
    if tool.startswith('hip-'):
        return tool in _scripts()
    return (REPO / tool).is_file()


@functools.cache
def _makefile() -> str:
    return (REPO / 'Makefile').read_text()


@functools.cache
def _tracked() -> frozenset[str]:
    listed = subprocess.run(
        ['git', 'ls-files'], cwd=REPO, capture_output=True, text=True, check=False
    )
    if listed.returncode:  # not a git checkout: what is on disk
        return frozenset(_rel(p) for p in REPO.rglob('*') if p.is_file())
    return frozenset(listed.stdout.splitlines())


def _in_repo(path: str) -> bool:
    path = path.rstrip('/')
    return path in _tracked() or any(f.startswith(path + '/') for f in _tracked())


# ------------------------------------------------------------------ commands and options


@functools.cache
def _named() -> dict:
    """Everything the pages name: tools, options (with the tool they belong to), make
    targets and variables, each with where it is named."""
    tools, options, targets, variables = {}, {}, {}, {}

    def note(table, key, where):
        table.setdefault(key, []).append(where)

    for page in DOCS:
        for kind, lang, text, heading in _blocks(page):
            if kind == 'heading':
                continue
            where = f'{_rel(page)} ({heading.lstrip("# ") or "top"})'
            section = set(_tool_names(heading))
            section_tool = section.pop() if len(section) == 1 else None
            for tool in _tool_names(text):
                note(tools, tool, where)
            if kind == 'code':
                commands = _split_commands(text) if lang in ('bash', 'sh', 'text', '') else []
                comments = '\n'.join(
                    line.split('#', 1)[1]
                    for line in text.splitlines()
                    if '#' in line and lang in ('bash', 'sh')
                )
            else:
                commands = [c for span in _spans(text) for c in _split_commands(span)]
                comments = ''
            context = None  # the last tool named in this paragraph
            for tokens in commands:
                prog, args = _program(tokens)
                if prog and re.fullmatch(r'\w+\.py', prog) and (REPO / 'tools' / prog).is_file():
                    prog = f'tools/{prog}'  # `train.py --resume`
                if prog and re.fullmatch(r'hip-[a-z-]+', prog):
                    note(tools, prog, where)
                if prog == 'make':
                    for arg in args:
                        if '=' in arg:
                            note(variables, arg.split('=')[0], where)
                        elif not arg.startswith('-'):
                            note(targets, arg, where)
                elif _is_tool(prog):
                    context = prog
                    for arg in args:
                        if re.fullmatch(r'--[a-z][a-z0-9-]*(=.*)?', arg):
                            note(options, (prog, arg.split('=')[0]), where)
                elif prog is None or prog.startswith('--'):  # options named on their own
                    named = _tool_names(' '.join(tokens))
                    context = named[-1] if named else context
                    for arg in tokens:
                        if re.fullmatch(r'--[a-z][a-z0-9-]*', arg):
                            candidates = tuple(
                                dict.fromkeys(t for t in (context, section_tool) if t)
                            )
                            note(options, (candidates, arg), where)
                else:  # another program (pip, tensorboard, ...): its options are its own
                    named = _tool_names(' '.join(tokens))
                    context = named[-1] if named else context
            for comment in comments.splitlines():
                for option in re.findall(r'(?<![\w-])--[a-z][a-z0-9-]*', comment):
                    before = _tool_names(comment.split(option, 1)[0])
                    owner = tuple(dict.fromkeys(t for t in (*before[-1:], section_tool) if t))
                    note(options, (owner, option), where)
    return dict(tools=tools, options=options, targets=targets, variables=variables)


def _option_ids() -> dict[str, tuple]:
    ids = {}
    for (owner, option), where in _named()['options'].items():
        if isinstance(owner, str):
            key = f'option:{owner} {option}'
        else:
            key = f'option:{" or ".join(owner) or "(any tool)"} {option}'
            if not owner and option in EXTERNAL_OPTIONS:
                continue
        ids.setdefault(key, (owner, option, []))[2].extend(where)
    return ids


@pytest.mark.parametrize('check_id', [_pending(f'command:{t}') for t in sorted(_named()['tools'])])
def test_named_command_exists(check_id):
    tool = check_id.split(':', 1)[1]
    where = sorted(set(_named()['tools'][tool]))
    assert _tool_exists(tool), (
        f'{tool} is named in {where} but does not exist '
        f'({"no such script in pyproject.toml" if tool.startswith("hip-") else "no such file"})'
    )


@pytest.mark.parametrize('check_id', [_pending(k) for k in sorted(_option_ids())])
def test_named_option_exists(check_id):
    owner, option, where = _option_ids()[check_id]
    where = sorted(set(where))
    if isinstance(owner, str):
        owners = (owner,)
    elif owner:
        owners = owner
    else:  # named with no tool beside it: any tool's
        owners = tuple(
            sorted(f'tools/{p.name}' for p in (REPO / 'tools').glob('*.py') if p.stem != '__init__')
        )
    known = {}
    for tool in owners:
        parser = _parser(tool)
        if parser is not None:
            known[tool] = set(parser._option_string_actions)
    assert known, f'{option} (named in {where}): none of {owners} has an argparse parser'
    assert any(option in opts for opts in known.values()), (
        f'{option} is named in {where} for {" or ".join(owners)}, whose parsers have no such option'
    )


@pytest.mark.parametrize('check_id', [_pending(f'make:{t}') for t in sorted(_named()['targets'])])
def test_named_make_target_exists(check_id):
    target = check_id.split(':', 1)[1]
    assert re.search(rf'^{re.escape(target)}\s*:', _makefile(), re.M), (
        f'make {target} is named in {sorted(set(_named()["targets"][target]))} '
        'but the Makefile has no such target'
    )


def test_named_make_variables_exist():
    missing = {
        var: sorted(set(where))
        for var, where in _named()['variables'].items()
        if not re.search(rf'^{var}\s*\??=|\$\({var}\)', _makefile(), re.M)
    }
    assert not missing, f'make variables named but not in the Makefile: {missing}'


# ------------------------------------------------------------------ links, configs, paths


def _slug(heading: str) -> str:
    """GitHub's anchor of a heading."""
    text = re.sub(r'[^\w\- ]', '', heading.lstrip('#').strip().lower())
    return text.replace(' ', '-')


@functools.cache
def _anchors(page: Path) -> frozenset[str]:
    seen, anchors = {}, set()
    for kind, _, text, _ in _blocks(page):
        if kind == 'heading':
            slug = _slug(text)
            anchors.add(slug if slug not in seen else f'{slug}-{seen[slug]}')
            seen[slug] = seen.get(slug, 0) + 1
    return frozenset(anchors)


@functools.cache
def _links() -> dict[str, list]:
    links = {}
    for page in LINKED:
        text = page.read_text()
        found = re.findall(r'\]\(([^)\s]+)\)', text) + re.findall(r'src="([^"]+)"', text)
        for target in found:
            if re.match(r'[a-z]+:', target):
                continue  # http, https, mailto
            path, _, anchor = target.partition('#')
            resolved = (page.parent / path).resolve() if path else page
            key = _rel(resolved) if resolved.is_relative_to(REPO) else str(resolved)
            links.setdefault(key, []).append((page, anchor))
    return links


@pytest.mark.parametrize('check_id', [_pending(f'link:{k}') for k in sorted(_links())])
def test_links_resolve(check_id):
    target = check_id.split(':', 1)[1]
    sources = _links()[target]
    path = REPO / target
    assert path.exists(), (
        f'{target}, linked from {sorted({_rel(p) for p, _ in sources})}, is missing'
    )
    for page, anchor in sources:
        if anchor:
            assert anchor in _anchors(path), (
                f'{_rel(page)} links to {target}#{anchor}: no such heading there'
            )


@functools.cache
def _paths() -> dict[str, list]:
    """Repository paths named in code (spans and blocks) of the pages, with the pages."""
    paths = {}
    for page in LINKED:
        for kind, _, text, _ in _blocks(page):
            codes = [text] if kind == 'code' else _spans(text)
            for code in codes:
                for path in re.findall(
                    r'(?<![\w./-])((?:hip_mmpose|tests|tools|configs|docs)/[\w./*-]*[\w*])', code
                ):
                    paths.setdefault(path, []).append(_rel(page))
    return paths


@pytest.mark.parametrize('check_id', [_pending(f'path:{p}') for p in sorted(_paths())])
def test_named_paths_exist(check_id):
    path = check_id.split(':', 1)[1]
    assert any(REPO.glob(path)) or (REPO / path).exists(), (
        f'{path} is named in {sorted(set(_paths()[path]))} but does not exist'
    )


def test_named_configs_exist():
    """Every config named, by path or by its file name alone (``hip_refine_*.py``)."""
    configs = {p.name for p in (REPO / 'configs').rglob('*.py')}
    missing = {}
    for page in LINKED:
        for path in re.findall(r'[\w./-]*(?:hip_effv2|hip_refine)_\w+\.py', page.read_text()):
            name = path.rsplit('/', 1)[-1]
            if 'hip_mmpose/' not in path and name not in configs:
                missing.setdefault(path, set()).add(_rel(page))
    assert not missing, f'configs named but not under configs/: {missing}'


def test_version_is_the_same_everywhere():
    import hip_mmpose

    cff = (REPO / 'CITATION.cff').read_text()
    assert f'version: {hip_mmpose.__version__}\n' in cff
    assert f'## [{hip_mmpose.__version__}]' in (REPO / 'CHANGELOG.md').read_text()


# ------------------------------------------------------------------ what README commands read


def _expand_make(args: list[str]) -> list[list[str]]:
    """The commands ``make ARGS`` runs (``make -n``), or an error naming the target."""
    run = subprocess.run(
        ['make', '-n', '-C', str(REPO), *args], capture_output=True, text=True, check=False
    )
    if run.returncode:
        raise LookupError(f'make {" ".join(args)}: {run.stderr.strip()}')
    return _split_commands(run.stdout)


def _looks_like_a_path(value: str) -> bool:
    return (
        ('/' in value or re.search(r'\.(pth|onnx|json|csv|pkl|py|png|jpe?g|dcm)$', value))
        and '://' not in value
        and not value.startswith('-')
    )


def _inside_checkout(path: str) -> bool:
    """A path the checkout holds (not ``../films``, ``/data``, ``~/x`` or ``<placeholder>``)."""
    return not path.startswith(('../', '/', '~')) and '<' not in path


def _reads_and_makes(prog: str, args: list[str]) -> tuple[list[str], list[str]]:
    """The checkout paths a command reads and those it makes."""
    reads, makes = [], []
    if prog in ('cp', 'mv', 'ln', 'mkdir', 'touch'):
        paths = [a for a in args if not a.startswith('-')]
        makes += paths if prog in ('mkdir', 'touch') else paths[-1:]
        reads += paths[:-1] if prog in ('cp', 'mv') else []
    elif prog == '-m venv':
        makes += args[-1:]
    elif _is_tool(prog):
        parser = _parser(prog)
        try:
            with contextlib.redirect_stderr(io.StringIO()):
                ns = vars(parser.parse_args(args)) if parser else None
        except SystemExit:
            ns = None  # an option test names the problem
        if ns is None:  # no parser: options that write, the rest read
            values = iter(args)
            for arg in values:
                if arg in OUTPUT_OPTIONS:
                    makes.append(next(values, ''))
                elif _looks_like_a_path(arg):
                    reads.append(arg)
        else:
            for dest, value in ns.items():
                for v in value if isinstance(value, list) else [value]:
                    if not isinstance(v, str) or not _looks_like_a_path(v):
                        continue
                    if dest not in OUTPUT_DESTS:
                        reads.append(v)
                    elif prog.endswith('publish_model.py') or prog == 'hip-publish':
                        out = Path(v)  # the hash goes into the name
                        makes.append(str(out.with_name(f'{out.stem}-*{out.suffix}')))
                    else:
                        makes.append(v)
            if ns.get('work_dir', '') is None and ns.get('config'):
                makes.append(f'work_dirs/{Path(ns["config"]).stem}')  # MMPose's default
    return [r for r in reads if _inside_checkout(r)], [m for m in makes if _inside_checkout(m)]


def _made(path: str, made: list[str]) -> bool:
    path = path.rstrip('/')
    for out in made:
        out = out.rstrip('/')
        if path == out or path.startswith(out + '/') or Path(path).match(out):
            return True
    return False


@functools.cache
def _readme_reads() -> dict[str, tuple[str, str | None]]:
    """Each checkout path a README command reads: ``(the command, what is wrong or
    None)``, in the README's order."""
    made, reads = [], {}
    for kind, lang, text, _ in _blocks(REPO / 'README.md'):
        if kind != 'code' or lang not in ('bash', 'sh'):
            continue
        for tokens in _split_commands(text):
            prog, args = _program(tokens)
            if prog is None:
                continue
            commands = [(prog, args)]
            if prog == 'make':
                try:
                    commands = [_program(t) for t in _expand_make(args)]
                except LookupError as err:
                    commands = []
                    targets = ' '.join(a for a in args if '=' not in a)
                    reads.setdefault(f'make {targets}', (' '.join(tokens), str(err)))
            line = ' '.join(tokens)
            for sub, sub_args in commands:
                if sub is None:
                    continue
                r, m = _reads_and_makes(sub, sub_args)
                for path in r if prog != 'make' else []:
                    ok = _in_repo(path) or _made(path, made)
                    problem = (
                        None
                        if ok
                        else (
                            f'`{line}` reads {path}, which no earlier README command makes and '
                            f'the repository does not hold (made so far: {sorted(set(made))})'
                        )
                    )
                    reads.setdefault(path, (line, problem))
                made += m
    return reads


@pytest.mark.parametrize('check_id', [_pending(f'reads:{p}') for p in _readme_reads()])
def test_readme_commands_read_what_earlier_ones_made(check_id):
    command, problem = _readme_reads()[check_id.split(':', 1)[1]]
    assert problem is None, problem


# ------------------------------------------------------------------ Python snippets


def _python_blocks(page: Path) -> list[str]:
    return [text for kind, lang, text, _ in _blocks(page) if kind == 'code' and lang == 'python']


def test_readme_python_snippets_run_as_written(
    trained_cascade, synthetic_root, tmp_path, monkeypatch, capsys
):
    """The README's snippets, in order and in one namespace, in a folder holding what
    ``make demo`` (``data/demo``: the tiny synthetic set) and ``make model``
    (``models/hip_effv2_cbam_cpu.pth``: the tiny two-stage model, published) make."""
    from hip_mmpose.apis import publish_checkpoint

    snippets = _python_blocks(REPO / 'README.md')
    assert snippets, 'README.md has no ```python snippets'
    (tmp_path / 'data').mkdir()
    (tmp_path / 'data' / 'demo').symlink_to(synthetic_root, target_is_directory=True)
    published = publish_checkpoint(trained_cascade[2], tmp_path / 'models' / 'model.pth')
    shutil.move(published, tmp_path / 'models' / 'hip_effv2_cbam_cpu.pth')
    monkeypatch.chdir(tmp_path)
    namespace = {'__name__': '__readme__'}
    for i, code in enumerate(snippets):
        exec(compile(code, f'README.md python snippet {i + 1}', 'exec'), namespace)
    printed = capsys.readouterr().out.splitlines()
    films = sorted((synthetic_root / 'test' / 'images').glob('*.png'))
    # the geometry snippet prints two lines, the inference one a line per film
    assert len(printed) == 2 + len(films), printed
    assert [line.split()[0] for line in printed[2:]] == [f.name for f in films]


@pytest.mark.parametrize('page', [p for p in DOCS if p.name != 'README.md'], ids=_rel)
def test_docs_python_snippets_compile_and_import(page):
    """docs/ snippets (training runs: not run here) compile, and what they import exists."""
    for i, code in enumerate(_python_blocks(page)):
        tree = ast.parse(code, f'{_rel(page)} python snippet {i + 1}')
        compile(tree, f'{_rel(page)} python snippet {i + 1}', 'exec')
        for node in tree.body:
            if isinstance(node, ast.ImportFrom):
                module = importlib.import_module(node.module)
                for alias in node.names:
                    assert hasattr(module, alias.name) or importlib.util.find_spec(
                        f'{node.module}.{alias.name}'
                    ), f'{_rel(page)}: {node.module} has no {alias.name}'
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    importlib.import_module(alias.name)

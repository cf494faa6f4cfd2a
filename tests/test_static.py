"""The pages' JavaScript: native ES modules, checked without a network or npm.

The pages load one entry module each (``webmap/static/*.js``: the dispatcher's,
the crew's, the public page's, the pages across regions and the others)
that imports the modules under ``webmap/static/js/``; there is no build step,
so what is checked here is what the browser runs:

- every module parses (``node --check``; skipped without Node);
- every import names a module that exists and a name that module exports,
  every imported name is used, and the imports form no cycle;
- the layers hold: shared modules (``js/*.js``) import only shared ones, a
  page's modules only their own and the shared ones;
- every module is reachable from an entry, and each template loads its entry
  with ``<script type="module">`` (and no classic script of ours);
- the crew handheld's service worker caches every module the handheld
  imports, so it starts without signal;
- no module writes HTML (``innerHTML`` and the like) except ``dom.js``'s one
  escaping helper, and none hands Leaflet HTML built from data.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from functools import cache
from pathlib import Path, PurePosixPath

import pytest

ROOT = Path(__file__).resolve().parent.parent
STATIC = ROOT / "webmap" / "static"
TEMPLATES = ROOT / "webmap" / "templates"
ENTRIES = {
    "dispatcher": "dispatcher.js",
    "crew": "crew.js",
    "public": "public.js",
    "overview": "overview.js",
    "switching": "switching.js",
    "regions": "regions.js",
    "regions-public": "regions-public.js",
}
#: Module files: the entries and everything under js/.
MODULES = sorted([STATIC / e for e in ENTRIES.values()] + list((STATIC / "js").rglob("*.js")))
MAX_LINES = 300

_IMPORT = re.compile(r"^import\s+(?:(?P<what>[^'\"]*?)\s+from\s+)?'(?P<spec>[^']+)';", re.M)
_NAMED = re.compile(r"^\{(?P<names>[^}]*)\}$", re.S)
_EXPORT_DECL = re.compile(
    r"^export\s+(?:async\s+)?(?:function\*?|const|let|class)\s+([\w$]+)", re.M
)
_EXPORT_LIST = re.compile(r"^export\s*\{([^}]*)\}", re.M)


def _rel(path: Path) -> str:
    return path.relative_to(STATIC).as_posix()


def _url(path: Path) -> str:
    return f"/static/{_rel(path)}"


def _source(path: Path) -> str:
    return path.read_text(encoding="utf-8")


@cache
def _exports(path: Path) -> frozenset[str]:
    src = _source(path)
    names = set(_EXPORT_DECL.findall(src))
    for group in _EXPORT_LIST.findall(src):
        names.update(n.split(" as ")[-1].strip() for n in group.split(",") if n.strip())
    return frozenset(names)


@cache
def _imports(path: Path) -> tuple[tuple[Path, tuple[tuple[str, str], ...]], ...]:
    """(module imported, ((name exported, local name), ...)) for each import of ``path``."""
    out = []
    for m in _IMPORT.finditer(_source(path)):
        spec, what = m["spec"], (m["what"] or "").strip()
        assert spec.startswith(("./", "../")), f"{_rel(path)}: import '{spec}' is not relative"
        target = (path.parent / spec).resolve()
        pairs: list[tuple[str, str]] = []
        if what:
            named = _NAMED.match(what)
            assert named, f"{_rel(path)}: import {what} from '{spec}': only named imports, please"
            for item in named["names"].split(","):
                if item.strip():
                    exported, _, local = item.strip().partition(" as ")
                    pairs.append((exported.strip(), (local or exported).strip()))
        out.append((target, tuple(pairs)))
    return tuple(out)


def _reachable(entry: Path) -> set[Path]:
    seen: set[Path] = set()
    todo = [entry]
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        todo.extend(target for target, _ in _imports(path) if target.exists())
    return seen


def _layer(path: Path) -> str:
    """'shared' (js/*.js), a page's name (js/<page>/*.js or its entry)."""
    parts = PurePosixPath(_rel(path)).parts
    if len(parts) == 1:
        return next(page for page, entry in ENTRIES.items() if entry == parts[0])
    return "shared" if len(parts) == 2 else parts[1]


def _ids(paths: list[Path]) -> list[str]:
    return [_rel(p) for p in paths]


# ---------------------------------------------------------------- syntax
def test_the_module_tree_is_what_the_pages_load() -> None:
    assert all(p.exists() for p in MODULES)
    assert (STATIC / "js" / "dom.js") in MODULES and (STATIC / "js" / "api.js") in MODULES
    assert not (STATIC / "clock.js").exists(), "the clock is js/clock.js (one clock)"


@pytest.mark.parametrize("path", MODULES, ids=_ids(MODULES))
def test_module_parses(path: Path) -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip("no Node.js on this machine")
    done = subprocess.run(
        [node, "--input-type=module", "--check"],
        input=_source(path),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, f"{_rel(path)}:\n{done.stderr}"


def test_service_worker_parses() -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip("no Node.js on this machine")
    done = subprocess.run(
        [node, "--check", str(STATIC / "crew-sw.js")], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr


# ---------------------------------------------------------------- imports
@pytest.mark.parametrize("path", MODULES, ids=_ids(MODULES))
def test_imports_exist_are_exported_and_used(path: Path) -> None:
    src = _source(path)
    body = _IMPORT.sub("", src)
    for target, names in _imports(path):
        assert target.is_file(), f"{_rel(path)} imports {target}, which does not exist"
        assert target.suffix == ".js" and STATIC in target.parents
        for exported, local in names:
            assert exported in _exports(target), f"{_rel(path)}: {_rel(target)} has no {exported}"
            assert re.search(rf"(?<![\w$.]){re.escape(local)}(?![\w$])", body), (
                f"{_rel(path)}: {local} is imported but not used"
            )


def test_imports_form_no_cycle() -> None:
    state: dict[Path, str] = {}

    def visit(path: Path, trail: list[Path]) -> None:
        state[path] = "open"
        for target, _ in _imports(path):
            if state.get(target) == "open":
                cycle = [*trail[trail.index(target) :], target] if target in trail else [target]
                pytest.fail("import cycle: " + " -> ".join(_rel(p) for p in cycle))
            if target not in state:
                visit(target, [*trail, target])
        state[path] = "done"

    for path in MODULES:
        if path not in state:
            visit(path, [path])


@pytest.mark.parametrize("path", MODULES, ids=_ids(MODULES))
def test_layers(path: Path) -> None:
    mine = _layer(path)
    for target, _ in _imports(path):
        theirs = _layer(target)
        if mine == "shared":
            assert theirs == "shared", f"{_rel(path)} (shared) imports {_rel(target)}"
        else:
            assert theirs in ("shared", mine), f"{_rel(path)} ({mine}) imports {_rel(target)}"
        assert target.parent != STATIC, f"{_rel(path)} imports the entry {_rel(target)}"


def test_every_module_is_loaded_by_a_page() -> None:
    loaded = set().union(*(_reachable(STATIC / e) for e in ENTRIES.values()))
    orphans = sorted(_rel(p) for p in MODULES if p not in loaded)
    assert not orphans, f"modules no page imports: {orphans}"


@pytest.mark.parametrize("path", MODULES, ids=_ids(MODULES))
def test_module_is_small_and_in_one_style(path: Path) -> None:
    src = _source(path)
    lines = src.count("\n")
    assert lines <= MAX_LINES, f"{_rel(path)}: {lines} lines (split it by topic)"
    assert src.endswith("\n")
    assert not re.search(r"^\s*var\s", src, re.M), f"{_rel(path)}: var (use const or let)"
    assert "'use strict'" not in src, f"{_rel(path)}: modules are strict already"
    assert "\t" not in src


# ---------------------------------------------------------------- no HTML from data
_HTML_SINKS = re.compile(r"\.(innerHTML|outerHTML|insertAdjacentHTML)\b|document\.write")
#: Leaflet reads a string as HTML: content given to it is built with h(), or a constant.
_LEAFLET_HTML = re.compile(
    r"\.(bindTooltip|bindPopup|setContent|setTooltipContent|setPopupContent)\(\s*[`'\"][^)]*[`+$]"
    r"|\bhtml:\s*[`'\"]"
)


@pytest.mark.parametrize("path", MODULES, ids=_ids(MODULES))
def test_no_module_writes_html(path: Path) -> None:
    src = _source(path)
    sinks = _HTML_SINKS.findall(src)
    if path == STATIC / "js" / "dom.js":
        assert sinks == ["innerHTML"], "dom.js reads innerHTML once, to escape text (htmlText)"
    else:
        assert not sinks, f"{_rel(path)} writes HTML: build elements with h() from js/dom.js"
    assert not _LEAFLET_HTML.search(src), f"{_rel(path)} gives Leaflet HTML built from a string"


# ---------------------------------------------------------------- pages
def _module_scripts(template: str) -> list[str]:
    html = (TEMPLATES / template).read_text(encoding="utf-8")
    scripts = re.findall(r"<script\b([^>]*)>", html)
    ours = []
    for attrs in scripts:
        src = re.search(r"src=\"([^\"]+)\"", attrs)
        if not src or "vendor" in src[1]:
            continue
        static = re.search(r"filename='([^']+)'", src[1])
        path = static[1] if static else src[1].removeprefix("/static/")
        assert 'type="module"' in attrs, f"{template}: {src[1]} is not loaded as a module"
        ours.append(path)
    return ours


@pytest.mark.parametrize(("page", "template"), [(p, f"{p}.html") for p in ENTRIES])
def test_template_loads_its_entry_module(page: str, template: str) -> None:
    """The entry last; any module before it is one the entry imports (run once, first)."""
    scripts = _module_scripts(template)
    assert scripts[-1] == ENTRIES[page]
    entry = STATIC / ENTRIES[page]
    for early in scripts[:-1]:
        assert (STATIC / early).resolve() in _reachable(entry), f"{template}: {early} not {page}'s"


# ---------------------------------------------------------------- the handheld offline
def _sw_list(name: str) -> list[str]:
    src = _source(STATIC / "crew-sw.js")
    block = re.search(rf"const {name} = \[(.*?)\];", src, re.S)
    assert block, f"crew-sw.js has no {name} list"
    return re.findall(r"'([^']+)'", block[1])


def test_service_worker_caches_every_module_of_the_handheld() -> None:
    shell = _sw_list("SHELL")
    needed = sorted(_url(p) for p in _reachable(STATIC / ENTRIES["crew"]))
    missing = [u for u in needed if u not in shell]
    assert not missing, f"add to SHELL in crew-sw.js (the handheld cannot start offline): {missing}"
    for url in shell:
        if url.startswith("/static/"):
            path = STATIC / url.removeprefix("/static/")
            assert path.is_file(), f"crew-sw.js caches {url}: no such file"
    extra = [u for u in shell if u.endswith(".js") and u not in needed]
    assert not extra, f"crew-sw.js caches modules the handheld does not import: {extra}"


def test_the_cache_version_follows_every_cached_module() -> None:
    from webmap.crew import SHELL_FILES

    digested = {f"/static/{name}" for name in SHELL_FILES}
    cached = {u for u in _sw_list("SHELL") if u.startswith("/static/")}
    assert cached <= digested, sorted(cached - digested)

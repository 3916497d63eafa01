"""docs/writing-plugins.md cannot drift from the code: its code blocks are the files of
examples/abonent-sms, and that example, built and installed as a distribution into a
fresh virtualenv, passes its own tests there, from its own folder, on both databases.

The fresh virtualenv is honest about what matters and quick about the rest: it sees the
third-party packages already installed in this checkout's virtualenv (a .pth file naming
a folder of links to them, Abonent's own distributions and their editable hooks left
out), while the core (`abonent`, from a copy of its sources) and the example are built
and installed into it by pip like any distribution. So the example's tests import the
installed `abonent_sms`, get the fixtures from the installed `plugins.testing` (its
`pytest11` entry point), and never see this repository's conftest.py; their PostgreSQL is
the one the kit starts itself. The installed `abonent` command lists the plugin, migrates
its branch (shipped as package data) and finds its models and migrations in agreement.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "abonent-sms"
GUIDE = ROOT / "docs" / "writing-plugins.md"
#: a block of the guide that is a file of the example: "`path`:" just above the fence
FILE_BLOCK = re.compile(r"^`([\w./-]+)`:\n\n?```\w*\n(.*?)^```$", re.M | re.S)
SKIP = shutil.ignore_patterns("__pycache__", "*.egg-info", "build", ".pytest_cache")


def example_files() -> set[str]:
    return {str(p.relative_to(EXAMPLE)) for p in EXAMPLE.rglob("*")
            if p.is_file() and "__pycache__" not in p.parts and ".egg-info" not in str(p)}


def test_the_guide_shows_every_file_of_the_example_as_it_is():
    shown = {path: body for path, body in FILE_BLOCK.findall(GUIDE.read_text())}
    assert set(shown) == example_files()
    for path, body in shown.items():
        assert body == (EXAMPLE / path).read_text(), f"the guide's {path} differs from the file"


def test_the_guide_lists_exactly_the_names_core_exports():
    import core
    guide = GUIDE.read_text()
    section = guide[guide.index("## 2. "):guide.index("## 3. ")]
    listed = set(re.findall(r"`(\w+)`", "\n".join(
        line for line in section.splitlines() if line.startswith("- "))))
    assert listed == set(core.__all__)


def _anchor(heading: str) -> str:
    """GitHub's anchor of a Markdown heading."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_the_guide_links_to_sections_of_hooks_md_that_exist():
    headings = re.findall(r"^#+ (.*)$", (ROOT / "docs" / "hooks.md").read_text(), re.M)
    anchors = {_anchor(h) for h in headings}
    links = re.findall(r"\(hooks\.md#([\w-]+)\)", GUIDE.read_text())
    assert links and sorted(set(links) - anchors) == []


def _deps_folder(where: Path) -> Path:
    """Links to every third-party package of this virtualenv (not Abonent's own, not
    their editable hooks, not setuptools: the fresh one installs its own to build)."""
    site = Path(sysconfig.get_paths()["purelib"])
    folder = where / "deps"
    folder.mkdir()
    leave_out = re.compile(r"^(abonent|__editable__|setuptools|pkg_resources|_distutils_hack)"
                           r"|\.pth$|^__pycache__$")
    for entry in site.iterdir():
        if not leave_out.search(entry.name):
            (folder / entry.name).symlink_to(entry)
    return folder


def _run(*args, cwd: Path, env: dict | None = None) -> str:
    done = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, f"{args}:\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
    return done.stdout


def _packages() -> list[str]:
    """The distribution's top-level packages, as its pyproject names them (core, plugins,
    admin, api…): the copy built here must hold every one of them."""
    with open(ROOT / "pyproject.toml", "rb") as file:
        found = tomllib.load(file)["tool"]["setuptools"]["packages"]["find"]["include"]
    return [pattern.rstrip("*") for pattern in found]


def test_the_example_installs_and_passes_its_own_tests_in_a_fresh_virtualenv(tmp_path,
                                                                              request):
    venv = tmp_path / "venv"
    _run(sys.executable, "-m", "venv", "--without-pip", venv, cwd=tmp_path)
    python = venv / "bin" / "python"
    site = Path(_run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])",
                     cwd=tmp_path).strip())
    (site / "_deps.pth").write_text(f"{_deps_folder(tmp_path)}\n")
    core = tmp_path / "abonent"  # a copy: building writes build/ and *.egg-info beside it
    core.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, core)
    for package in _packages():
        shutil.copytree(ROOT / package, core / package, ignore=SKIP)
    example = tmp_path / "abonent-sms"
    shutil.copytree(EXAMPLE, example, ignore=SKIP)
    pip = [python, "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    _run(*pip, "setuptools>=77", cwd=tmp_path)  # what both pyproject files build with
    _run(*pip, "--no-deps", "--no-build-isolation", core, example, cwd=tmp_path)

    env = {k: v for k, v in os.environ.items()
           if k != "PYTHONPATH" and not k.startswith("ABONENT_")}
    where = _run(python, "-c", "import abonent_sms, core, plugins.testing as t; "
                 "print(abonent_sms.__file__, core.__file__, t.__file__)", cwd=example, env=env)
    assert all(path.startswith(str(site)) for path in where.split()), where

    # installed as an operator installs it: listed, its branch (package data) migrated
    abonent = venv / "bin" / "abonent"
    cli = {**env, "ABONENT_DATABASE_URL": f"sqlite:///{tmp_path / 'billing.db'}",
           "ABONENT_VAR_DIR": str(tmp_path / "var"),
           "ABONENT_PLUGINS__SMS__GATEWAY_URL": "http://127.0.0.1:9"}
    assert "sms  abonent-sms 0.1.0" in _run(abonent, "plugins", cwd=tmp_path, env=cli)
    assert "sms: sms_0002  head: sms_0002" in _run(abonent, "db", "upgrade", cwd=tmp_path, env=cli)
    assert "agree" in _run(abonent, "db", "check", cwd=tmp_path, env=cli)

    backends = request.config.getoption("--db")
    ran = _run(python, "-m", "pytest", "-v", "-p", "no:cacheprovider", f"--db={backends}",
               cwd=example, env=env)
    for backend in backends.split(","):
        assert re.search(rf"\[{backend}\] PASSED", ran), ran[-3000:]
    assert not re.search(r"FAILED|ERROR|SKIPPED", ran), ran[-3000:]

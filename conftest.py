"""Root conftest: import every plugin package before pytest collects its tests.

With --import-mode=importlib and this folder as rootdir, pytest names a plugin's test
modules after their path ("plugin_tv24.tests.test_x") and registers the distribution
folder plugin_tv24/ (no __init__.py) as the module "plugin_tv24" when that name is not
taken yet, hiding the real package one level down. Importing the real packages first
takes the names.
"""
import importlib
from pathlib import Path

for _pyproject in sorted(Path(__file__).parent.glob("plugin_*/pyproject.toml")):
    importlib.import_module(_pyproject.parent.name)

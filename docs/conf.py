"""Sphinx configuration: API reference from the docstrings, and notebooks executed at build time (myst-nb).

The notebooks run in an ordinary Jupyter kernel with its inline backend: copyhead chooses no matplotlib backend,
so its figures show inline as they would for a user."""
project = "copyhead"
author = "copyhead developers"
extensions = ["myst_nb", "sphinx.ext.autodoc", "sphinx.ext.mathjax", "sphinx.ext.viewcode"]
exclude_patterns = ["_build", "jupyter_execute", ".jupyter_cache"]
source_suffix = {".rst": "restructuredtext", ".md": "myst-nb"}
html_theme = "alabaster"
autodoc_member_order = "bysource"
autodoc_typehints = "none"
myst_enable_extensions = ["dollarmath"]
# every notebook runs on every build, and an error in one fails the build
nb_execution_mode = "force"
nb_execution_timeout = 300
nb_execution_raise_on_error = True
nb_merge_streams = True

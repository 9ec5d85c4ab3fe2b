"""Tells the render hooks where the template lives.

Cookiecutter passes a local template path to hooks as the user typed it (often relative) and
runs them from the new project's folder, so the hooks could not find the files to copy. This
Jinja extension is imported while cookiecutter still runs in the user's folder and records the
template's absolute path as the global ``template_root``.
"""

from pathlib import Path

from jinja2.ext import Extension

TEMPLATE_ROOT = Path(__file__).resolve().parent.parent


class TemplateSource(Extension):
    def __init__(self, environment):
        super().__init__(environment)
        environment.globals["template_root"] = str(TEMPLATE_ROOT)

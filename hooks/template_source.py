"""Tells the render hooks where the template lives.

Cookiecutter passes a local template path to hooks as the user typed it (often relative) and
runs them from the new project's folder, so the hooks could not find the files to copy. This
Jinja extension gives templates the template's absolute path as the global ``template_root``.

Cookiecutter and cruft render a hook script while working in the template folder (that is how
they find ``hooks/``), so the folder a hook is rendered in is the template: right for a clone,
a zip unpacked to a temp folder, and each of the two checkouts `cruft update` renders in one
process, where this module, imported once, would name only the first. Elsewhere the folder
this file was imported from stands in.
"""

from pathlib import Path

from jinja2.ext import Extension

TEMPLATE_ROOT = Path(__file__).resolve().parent.parent


def template_root() -> Path:
    here = Path.cwd()
    if (here / "cookiecutter.json").is_file() and (here / "hooks" / "derive.py").is_file():
        return here.resolve()
    return TEMPLATE_ROOT


class TemplateSource(Extension):
    def __init__(self, environment):
        super().__init__(environment)
        environment.globals["template_root"] = str(template_root())

"""Refuse names that would render a broken project, before anything is written."""

import re
import sys

answers = {
    "project_slug": "{{ cookiecutter.project_slug }}",
    "package_name": "{{ cookiecutter.package_name }}",
    "include_pytorch": "{{ cookiecutter.include_pytorch }}",
}
problems = []
if not re.fullmatch(r"[a-z][a-z0-9-]*", answers["project_slug"]):
    problems.append(
        "project_slug must be lowercase letters, digits and '-', starting with a letter"
    )
if not re.fullmatch(r"[a-z][a-z0-9_]*", answers["package_name"]):
    problems.append("package_name must be a lowercase Python identifier (letters, digits, '_')")
if answers["include_pytorch"] not in ("yes", "no"):
    problems.append("include_pytorch must be 'yes' or 'no'")
for problem in problems:
    print(f"ERROR: {problem} (got {answers[problem.split()[0]]!r})", file=sys.stderr)
sys.exit(1 if problems else 0)

"""Fill the new project from the template repository's own files (see hooks/derive.py)."""

import json
import sys
from pathlib import Path

SOURCE = Path({{ template_root | tojson }})
ANSWERS = json.loads({{ cookiecutter | jsonify | tojson }})

sys.path.insert(0, str(SOURCE))
from hooks.derive import derive_project  # noqa: E402

derive_project(SOURCE, Path.cwd(), ANSWERS)

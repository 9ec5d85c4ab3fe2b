"""The Seattle fork runs its own README commands unchanged: `make test` (the lifecycle tests
reading its contracts, and its own dataset tests) and `make demo` (the closed loop under
Dagster's daemon on its daily weather, a regression, ending in a served prediction), after a
fresh install of its own venv, as a team that forked the template would run them."""

import re
import subprocess

import pytest

from tests.rendered_project import outside_env
from tests.seattle_fork import FORK_SETUP, fork_project


@pytest.mark.slow  # a fresh install (in the background since collection), its suite, its demo
def test_the_seattle_fork_passes_its_own_make_test_and_runs_its_own_make_demo():
    root = fork_project()
    code, log = FORK_SETUP.wait()
    assert code == 0, log
    test = subprocess.run(
        ["make", "test"], cwd=root, env=outside_env(), capture_output=True, text=True, timeout=1800
    )
    assert test.returncode == 0, test.stdout[-4000:] + test.stderr[-2000:]
    summary = test.stdout.strip().splitlines()[-1]
    assert " passed" in summary and "failed" not in summary and "error" not in summary, summary
    assert (
        "tests/dataset/test_weather_mart.py"
        in subprocess.run(
            [str(root / ".venv" / "bin" / "pytest"), "--collect-only", "-q", "tests/dataset"],
            cwd=root,
            env=outside_env(),
            capture_output=True,
            text=True,
            timeout=300,
        ).stdout
    )  # its own dataset tests, not the flights'

    demo = subprocess.run(
        ["make", "demo"], cwd=root, env=outside_env(), capture_output=True, text=True, timeout=2400
    )
    output = demo.stdout + demo.stderr
    assert demo.returncode == 0, output[-6000:]
    assert "red runs: 0" in output, output[-6000:]
    # the first model beat persistence on RMSE; the loop served every month through the daemon
    assert re.search(r"promoted challenger v1: rmse [\d.]+ beats baseline", output), output[-6000:]
    assert "live RMSE" in output
    # October's traffic asks about the days the weather turns: live RMSE crosses its ceiling,
    # the health sensor retrains on October, and the gate decides (green either way)
    assert re.search(r"live_quality: past_limit - live rmse [\d.]+ \(ceiling", output)
    assert re.search(r"ok retrain 2015-10 \(\d+ s\): (promoted|kept)", output), output[-6000:]
    # the last step: `bentoml serve` of the fork answered its example request with a temperature
    answer = re.search(r'-> 200 \{.*"prediction": ?(-?[\d.]+)', output)
    assert answer and -10 < float(answer.group(1)) < 40, output[-3000:]

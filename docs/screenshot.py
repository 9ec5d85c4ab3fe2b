"""Screenshot a page of the Dagster UI with Debian's headless Chromium (for the README).

Run against `make dev` (http://127.0.0.1:3000) after `make demo`, from a throwaway venv so the
project does not depend on a browser driver:

    apt-get install -y chromium
    python3 -m venv /tmp/pw && /tmp/pw/bin/pip install playwright==1.65.2
    /tmp/pw/bin/python docs/screenshot.py \
        http://127.0.0.1:3000/asset-groups docs/img/asset-graph.png

Playwright drives the system Chromium (`executable_path`), so no browser is downloaded. The
UI's first-visit community dialog is skipped before the shot.
"""

import sys

from playwright.sync_api import sync_playwright


def main(url: str, out: str) -> None:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1700, "height": 1000})
        page.goto(url, wait_until="networkidle", timeout=60_000)
        page.wait_for_timeout(3000)
        skip = page.get_by_role("button", name="Skip")
        if skip.count():
            skip.first.click()
        page.wait_for_timeout(4000)
        page.screenshot(path=out)
        browser.close()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])

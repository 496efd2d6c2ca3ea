"""Draw the app's PNG icons from its SVG marks with the Debian Chromium; run once after changing a mark:
``.venv/bin/python -m tests.look.make_icons`` (the PNGs are committed under static/icons/)."""

from pathlib import Path

from tests.browser import CHROMIUM, CHROMIUM_ARGS

ICONS = Path(__file__).resolve().parents[2] / "static" / "icons"
# file -> (its SVG mark, size in pixels); maskable icons fill the square (the launcher cuts the shape)
PNGS = {
    "icon-192.png": ("chorus.svg", 192),
    "icon-512.png": ("chorus.svg", 512),
    "maskable-512.png": ("chorus-maskable.svg", 512),
    "apple-touch-icon.png": ("chorus-maskable.svg", 180),  # iOS rounds the corners itself
    "favicon-32.png": ("chorus.svg", 32),
}


def main() -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for name, (mark, size) in PNGS.items():
            page = chromium.new_page(viewport={"width": size, "height": size})
            svg = (ICONS / mark).read_text()
            page.set_content(f"<style>html,body{{margin:0;background:transparent}} svg{{display:block;width:{size}px;"
                             f"height:{size}px}}</style>{svg}")  # fmt: skip
            page.screenshot(path=ICONS / name, omit_background=True)
            page.close()
        chromium.close()


if __name__ == "__main__":
    main()

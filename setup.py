"""Build step pyproject.toml cannot express: put the locked jsPsych files into the wheel as package data.

`npm ci --prefix web` (make install) fills web/node_modules from web/package-lock.json; `build_py` copies the
browser builds, stylesheets and package.json (name, version, MIT license) of every dependency in web/package.json
into bodyscene/humans/page/node_modules/ (beside the page template), where `bodyscene human-study` finds them in
an installed package. The repository's top-level web/ holds only the npm pins (package.json, package-lock.json).
"""

import json
import shutil
import sys
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
MODULES = HERE / "web" / "node_modules"
WANTED = ("package.json", "dist/index.browser.min.js", "css/*.css")


class BuildPyWithJsPsych(build_py):
    def run(self):
        super().run()
        packages = json.loads((HERE / "web" / "package.json").read_text())["dependencies"]
        missing = [p for p in packages if not (MODULES / p / "package.json").is_file()]
        if missing:
            print(
                f"warning: {MODULES / missing[0]} missing; run `npm ci --prefix web` first, or the wheel's "
                "`bodyscene human-study` stops asking for jsPsych",
                file=sys.stderr,
            )
            return
        target = Path(self.build_lib) / "bodyscene" / "humans" / "page" / "node_modules"
        for package in packages:
            for pattern in WANTED:
                for src in (MODULES / package).glob(pattern):
                    dst = target / package / src.relative_to(MODULES / package)
                    dst.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(src, dst)


setup(cmdclass={"build_py": BuildPyWithJsPsych})

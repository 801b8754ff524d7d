"""Installed the way users install it: the wheel alone, one headless OpenCV, no jax, one-line errors for extras."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from bodyscene.errors import BodySceneError, require_extra
from bodyscene.humans.study import JSPSYCH_FILES

ROOT = Path(__file__).resolve().parents[1]
MODULES = ROOT / "web" / "node_modules"
GUI_LIBRARIES = ("libGL.so", "libGLX", "libEGL", "libQt", "libgtk", "libX11.so")


def run(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True)
    assert done.returncode == 0, f"{' '.join(map(str, args))}\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
    return done


def build_wheel(out: Path) -> Path:
    """`pip wheel` from a copy of the checkout (so no build/ or egg-info lands in the repository)."""
    tree = out / "tree"
    for name in ("pyproject.toml", "setup.py", "README.md"):
        (tree / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / name, tree / name)
    shutil.copytree(ROOT / "src", tree / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    (tree / "web").mkdir()
    shutil.copy(ROOT / "web" / "package.json", tree / "web" / "package.json")
    (tree / "web" / "node_modules").symlink_to(MODULES)
    run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(out), "."], tree)
    (wheel,) = out.glob("bodyscene-*.whl")
    return wheel


@pytest.mark.slow
def test_the_wheel_installs_and_runs_outside_the_checkout(tmp_path, tiny_stimuli):
    if not all((MODULES / rel).is_file() for rel in JSPSYCH_FILES):
        pytest.skip(f"jsPsych not installed in {MODULES}: run `make install` (or `npm ci --prefix web`; needs npm)")
    wheel = build_wheel(tmp_path / "dist")
    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", "--without-pip", str(venv)], tmp_path)
    python = str(venv / "bin" / "python")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "BODYSCENE_WEB_MODULES")}
    run([sys.executable, "-m", "pip", "--python", python, "install", "-q", "--no-deps", str(wheel)], tmp_path, env)
    # Then the heavy dependencies (torch, mediapipe, ...) come from this environment: a path line in a .pth file
    # adds its site-packages after the new venv's own, without running its .pth files (so not an editable
    # bodyscene). Added after the install, so pip never sees (or touches) this environment's packages.
    purelib = run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], tmp_path).stdout
    (Path(purelib.strip()) / "outer.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")

    away = tmp_path / "elsewhere"
    away.mkdir()
    env["COLUMNS"] = "200"
    where = run([str(venv / "bin" / "python"), "-c", "import bodyscene; print(bodyscene.__file__)"], away, env)
    assert Path(where.stdout.strip()).is_relative_to(venv), where.stdout  # the wheel's copy, not the checkout's
    bodyscene = str(venv / "bin" / "bodyscene")
    assert "--out" in run([bodyscene, "demo", "--help"], away, env).stdout
    run(
        [
            bodyscene,
            "human-study",
            "--stimuli",
            str(tiny_stimuli),
            "--out",
            "exp",
            "--participants",
            "3",
            "--unit",
            "frame",
        ],
        away,
        env,
    )
    for rel, name in JSPSYCH_FILES.items():
        assert (away / "exp" / "lib" / name).read_bytes() == (MODULES / rel).read_bytes()
    assert "jspsych 8." in (away / "exp" / "lib" / "VERSIONS.txt").read_text()
    assert (away / "exp" / "index.html").is_file() and (away / "exp" / "design.json").is_file()


def loaded_cv2_binaries() -> list[str]:
    """The shared objects a fresh `import cv2` maps from inside the cv2 package (read from /proc/self/maps)."""
    code = (
        "import cv2, os\n"
        "root = os.path.dirname(cv2.__file__)\n"
        "paths = {line.split()[-1] for line in open('/proc/self/maps') if '.so' in line}\n"
        "print('\\n'.join(sorted(p for p in paths if p.startswith(root))))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, f"import cv2 failed (a GUI build without its libGL/Qt?): {done.stderr[-1500:]}"
    return done.stdout.split()


@pytest.mark.skipif(not sys.platform.startswith("linux") or shutil.which("ldd") is None, reason="needs Linux ldd")
def test_the_loaded_cv2_binary_links_no_libgl_or_qt():
    binaries = loaded_cv2_binaries()
    assert binaries, "import cv2 mapped no shared object from the cv2 package"
    for binary in binaries:
        linked = subprocess.run(["ldd", binary], capture_output=True, text=True).stdout
        gui = [line.strip() for line in linked.splitlines() if any(lib in line for lib in GUI_LIBRARIES)]
        assert not gui, (
            f"{binary} links {gui}: a GUI OpenCV build won the shared cv2/ folder; run `make install` "
            "(it keeps opencv-python-headless only; docs/install.md)"
        )


def test_the_segmenter_path_never_imports_jax():
    code = (
        "import sys, numpy as np\n"
        "from bodyscene.segment import get_segmenter\n"
        "seg = get_segmenter('mediapipe')\n"
        "seg.segment(np.zeros((96, 128, 3), np.uint8))\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('jax', 'jaxlib')))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    done = run([sys.executable, "-c", code], ROOT, env)
    assert done.stdout.strip().splitlines()[-1] == "[]"


def test_a_missing_extra_is_one_line_naming_the_pip_command(monkeypatch):
    monkeypatch.setitem(sys.modules, "ultralytics", None)  # as if not installed: import raises ModuleNotFoundError
    with pytest.raises(BodySceneError) as e:
        require_extra("ultralytics", "yolo", "--segmenter yolo")
    message = str(e.value)
    assert message == '--segmenter yolo needs ultralytics, which is not installed; pip install "bodyscene[yolo]"'
    with pytest.raises(BodySceneError, match=r'pip install "bodyscene\[tensorboard\]"'):
        monkeypatch.setitem(sys.modules, "tensorboard", None)
        require_extra("tensorboard", "tensorboard", "train.loggers: tensorboard")


def test_a_broken_module_inside_an_installed_extra_is_not_reported_as_missing(monkeypatch, tmp_path):
    (tmp_path / "installed_extra.py").write_text("import bodyscene_no_such_dependency\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ModuleNotFoundError, match="bodyscene_no_such_dependency"):
        require_extra("installed_extra", "yolo", "x")  # installed, but its own import fails: the real error


def test_the_yolo_segmenter_without_ultralytics_stops_with_the_pip_command(monkeypatch, tmp_path):
    from bodyscene.segment import get_segmenter

    weights = tmp_path / "yolov8n-seg.pt"
    weights.write_bytes(b"not used")
    monkeypatch.setitem(sys.modules, "ultralytics", None)
    segmenter = get_segmenter("yolo", weights=weights)
    with pytest.raises(BodySceneError, match=r'pip install "bodyscene\[yolo\]"'):
        segmenter.load()

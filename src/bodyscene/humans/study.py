"""The human study (`bodyscene human-study`, old name `human-experiment`): a stimulus set as a jsPsych study folder.

Not to be confused with `experiments/` (the model ablations): here the observers are people in a browser.

The folder holds the page (index.html, experiment.js, style.css from the template in `humans/page/`), jsPsych and
its plugins (from the copy the wheel carries in `humans/page/node_modules`, or, in a checkout, from the
repository's `web/node_modules`, which `make install` fills with `npm ci` from `web/package-lock.json`; no CDN),
the stimulus images it uses, and `design.json` (+ the same as `design.js`, so the page also runs from
file://): one counterbalanced, shuffled trial list per participant (see `study_design.py`).
`bodyscene serve-study` serves it.
"""

from __future__ import annotations

import json
import os
from collections import defaultdict
from importlib import resources
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np

from bodyscene.config import CONDITIONS, StudyConfig
from bodyscene.errors import BodySceneError
from bodyscene.files import atomic_write_bytes, atomic_write_text, read_csv, write_csv, write_json
from bodyscene.humans.study_design import StudyClip, build_design, choice_set, resolve_choices
from bodyscene.schema import HUMAN_COLUMNS

# The humans CSV (schema.py); the page's download and the server's files have exactly these columns.
FIELDS: tuple[str, ...] = HUMAN_COLUMNS
DESIGN_FORMAT = "bodyscene-human-experiment/1"
MANIFEST_COLUMNS = (
    "stimulus_id",
    "clip_id",
    "class",
    "label",
    "split",
    "original",
    "body",
    "background",
    "status",
)
TEMPLATE_FILES = ("index.html", "experiment.js", "style.css")
# node_modules path -> name in DIR/lib/. Browser builds, each defines one global (jsPsychModule, jsPsychX).
JSPSYCH_FILES: dict[str, str] = {
    "jspsych/dist/index.browser.min.js": "jspsych.js",
    "jspsych/css/jspsych.css": "jspsych.css",
    "@jspsych/plugin-preload/dist/index.browser.min.js": "plugin-preload.js",
    "@jspsych/plugin-html-button-response/dist/index.browser.min.js": "plugin-html-button-response.js",
    "@jspsych/plugin-image-button-response/dist/index.browser.min.js": "plugin-image-button-response.js",
    "@jspsych/plugin-instructions/dist/index.browser.min.js": "plugin-instructions.js",
}


def jspsych_dir() -> Path:
    """Where jsPsych is: $BODYSCENE_WEB_MODULES, else the copy inside the installed package (setup.py puts it in
    the wheel), else a checkout's <repository>/web/node_modules (`npm ci --prefix web`)."""
    env = os.environ.get("BODYSCENE_WEB_MODULES")
    if env:
        return Path(env)
    packaged = Path(__file__).resolve().parent / "page" / "node_modules"
    if _complete(packaged):
        return packaged
    return Path(__file__).resolve().parents[3] / "web" / "node_modules"


def _complete(modules: Path) -> bool:
    return all((modules / rel).is_file() for rel in JSPSYCH_FILES)


def check_jspsych(modules: Path) -> None:
    missing = [rel for rel in JSPSYCH_FILES if not (modules / rel).is_file()]
    if missing:
        raise BodySceneError(
            f"{modules / missing[0]}: jsPsych files not found; in a checkout run `make install` (needs npm), "
            "or install the bodyscene wheel, which carries them"
        )


def _safe_rel(path: str, manifest: Path, line: int) -> str:
    """A manifest image path must stay inside the stimulus set (it becomes a path in the output folder)."""
    p = PurePosixPath(path.replace("\\", "/"))
    if not path or p.is_absolute() or ".." in p.parts:
        raise BodySceneError(f"{manifest}:{line}: image path {path!r} must be relative to the stimulus set")
    return str(p)


def load_clips(stim: Path, cfg: StudyConfig) -> tuple[list[str], list[StudyClip], list[StudyClip], list[dict]]:
    """Classes, the split's usable clips, the other splits' clips (for practice), and the skipped rows."""
    manifest = stim / "manifest.csv"
    rows = read_csv(manifest, required=MANIFEST_COLUMNS)
    classes_file = stim / "classes.txt"
    if not classes_file.is_file():
        raise BodySceneError(f"{classes_file}: file not found; rerun `bodyscene prepare` to write the stimulus set")
    all_classes = [c.strip() for c in classes_file.read_text().splitlines() if c.strip()]
    classes = cfg.classes or all_classes
    unknown = [c for c in classes if c not in all_classes]
    if unknown:
        raise BodySceneError(
            f"--classes: {', '.join(unknown)} not in {classes_file}; pick from {', '.join(all_classes)}"
        )
    if len(classes) < 2:
        raise BodySceneError("--classes: a forced choice needs at least 2 classes")
    resolve_choices(cfg.choices, len(classes))

    frames: dict[tuple[str, str], list[dict[str, str]]] = defaultdict(list)
    meta: dict[tuple[str, str], tuple[str, str]] = {}
    skipped: list[dict] = []
    for line, row in enumerate(rows, start=2):
        if row["status"] != "ok" or row["class"] not in classes:
            continue
        paths = {c: _safe_rel(row[c], manifest, line) for c in CONDITIONS}
        missing = [p for p in paths.values() if not (stim / p).is_file()]
        if missing:
            skipped.append({"stimulus_id": row["stimulus_id"], "reason": f"image missing: {missing[0]}"})
            continue
        key = (row["split"], row["clip_id"])
        order = int(row["frame_index"]) if (row.get("frame_index") or "").strip().isdigit() else len(frames[key])
        if (
            cfg.swap_trials
            and row.get("swap")
            and row.get("swap_background_label") in classes
            and (stim / row["swap"]).is_file()
        ):
            paths |= {"swap": _safe_rel(row["swap"], manifest, line), "swap_scene": row["swap_background_label"]}
        frames[key].append({"stimulus_id": row["stimulus_id"], "order": order, **paths})
        meta[key] = (row["class"], row["split"])
    main, other = [], []
    for key in sorted(frames, key=lambda k: (classes.index(meta[k][0]), k[1])):
        label, split = meta[key]
        ordered = sorted(frames[key], key=lambda f: f.pop("order"))
        clip = StudyClip(key[1], label, classes.index(label), tuple(ordered))
        (main if split == cfg.split else other).append(clip)
    if not main:
        raise BodySceneError(f"{manifest}: no usable '{cfg.split}' rows for the chosen classes; check --split")
    short = [c for c in main if len(c.frames) < cfg.clip_min_frames]
    if cfg.unit == "clip" and short:
        raise BodySceneError(
            f"{manifest}: clip {short[0].clip_id} has {len(short[0].frames)} sampled frame(s), fewer than "
            f"--clip-min-frames {cfg.clip_min_frames} ({len(short)} such clips); rerun `bodyscene prepare` with "
            "--eval-frames-per-clip all (or a larger number) so test clips keep their frames, or use --unit frame"
        )
    return classes, main, other, skipped


def pick_clips(clips: list[StudyClip], cfg: StudyConfig) -> tuple[list[StudyClip], list[StudyClip]]:
    """At most `clips_per_class` clips per class (drawn with the design seed); returns (used, unused)."""
    if cfg.clips_per_class is None:
        return clips, []
    rng = np.random.default_rng(cfg.seed)
    by_class: dict[str, list[StudyClip]] = defaultdict(list)
    for clip in clips:
        by_class[clip.label].append(clip)
    used: set[str] = set()
    for group in by_class.values():
        k = min(cfg.clips_per_class, len(group))
        used.update(group[i].clip_id for i in rng.choice(len(group), size=k, replace=False))
    return [c for c in clips if c.clip_id in used], [c for c in clips if c.clip_id not in used]


def encode_clips(stim: Path, out: Path, trials: list[dict[str, Any]], fps: float) -> int:
    """Each clip trial's frames (in its condition) as one VP9 WebM, encoded once per (clip, condition) under
    out/stimuli/clips/<condition>/<clip_id>.webm; the trial's `frames` list becomes its `video` path."""
    import cv2

    from bodyscene.data.video import write_webm

    done: dict[tuple[str, str], str] = {}
    for t in trials:
        if t.get("unit") != "clip":
            continue
        key = (t["condition"], t["stimulus_id"])
        if key not in done:
            rel = f"stimuli/clips/{key[0]}/{key[1]}.webm"
            frames = []
            for p in t["frames"]:
                img = cv2.imread(str(stim / p), cv2.IMREAD_COLOR)
                if img is None:
                    raise BodySceneError(f"{stim / p}: not a readable image; rerun `bodyscene prepare`")
                frames.append(cv2.cvtColor(img, cv2.COLOR_BGR2RGB))
            write_webm(out / rel, frames, fps)
            done[key] = rel
        t["video"] = done[key]
        t["n_frames"] = len(t.pop("frames"))
    return len(done)


def practice_trials(pool: list[StudyClip], classes: list[str], cfg: StudyConfig) -> list[dict[str, Any]]:
    """Original frames from clips the main trials never show, one class after another, with feedback."""
    rng = np.random.default_rng(cfg.seed + 1)
    by_class: dict[str, list[StudyClip]] = defaultdict(list)
    for i in rng.permutation(len(pool)):
        by_class[pool[i].label].append(pool[i])
    longest = max((len(g) for g in by_class.values()), default=0)
    order = [g[i] for i in range(longest) for g in by_class.values() if i < len(g)]  # one class after another
    n_choices = resolve_choices(cfg.choices, len(classes))
    trials = []
    for clip in order[: cfg.practice]:  # a clip where it has the frames for one (unit clip), else a still frame
        options = choice_set(clip.label, classes, n_choices, rng)
        if cfg.unit == "clip" and len(clip.frames) >= cfg.clip_min_frames:
            shown = {"unit": "clip", "stimulus_id": clip.clip_id, "condition": "original",
                     "frames": [f["original"] for f in clip.frames]}  # fmt: skip
        else:
            shown = {"unit": "frame", "stimulus_id": clip.frames[0]["stimulus_id"], "image": clip.frames[0]["original"]}
        trials.append({"kind": "practice", **shown, "label": clip.label, "choices": options})
    return trials


def copy_images(stim: Path, out: Path, trials: list[dict[str, Any]]) -> set[str]:
    """The still images the trials show, copied under out/stimuli/; each trial's `image` becomes that path."""
    images = {t["image"] for t in trials if "image" in t}
    for rel in sorted(images):
        atomic_write_bytes(out / "stimuli" / rel, (stim / rel).read_bytes())
    for trial in trials:
        if "image" in trial:
            trial["image"] = f"stimuli/{trial['image']}"
    return images


def copy_page(out: Path, modules: Path) -> None:
    """The page (humans/page/ template) and the jsPsych files it loads (lib/, with lib/VERSIONS.txt)."""
    template = resources.files("bodyscene.humans") / "page"
    for name in TEMPLATE_FILES:
        atomic_write_text(out / name, (template / name).read_text(encoding="utf-8"))
    versions = []
    for rel, name in JSPSYCH_FILES.items():
        atomic_write_bytes(out / "lib" / name, (modules / rel).read_bytes())
        package_dir = rel.split("/")[0] if not rel.startswith("@") else "/".join(rel.split("/")[:2])
        package = json.loads((modules / package_dir / "package.json").read_text())
        versions.append(f"{package['name']} {package['version']} -> lib/{name}")
    atomic_write_text(out / "lib" / "VERSIONS.txt", "\n".join(sorted(set(versions))) + "\n")


def build_study(stim: Path, out: Path, cfg: StudyConfig, modules: Path | None = None) -> dict[str, Any]:
    """Write the study folder; returns a summary (participants, trials each, images, skipped)."""
    modules = modules or jspsych_dir()
    responses = out / "responses"
    if responses.is_dir() and any(responses.iterdir()):
        raise BodySceneError(f"{responses}: this folder already holds responses; choose a new --out")
    classes, clips, others, skipped = load_clips(stim, cfg)  # the design's own mistakes first
    check_jspsych(modules)
    clips, unused = pick_clips(clips, cfg)
    n_choices = resolve_choices(cfg.choices, len(classes))
    lists = build_design(
        clips, classes, cfg.participants, cfg.design, n_choices, cfg.attention_checks, cfg.seed, cfg.unit
    )
    # practice never shows a main-trial clip: other splits first, else the clips left out by clips_per_class
    practice = practice_trials(others or unused, classes, cfg)
    videos = encode_clips(stim, out, [t for lst in lists for t in lst["trials"]] + practice, cfg.clip_fps)

    images = copy_images(stim, out, [*(t for lst in lists for t in lst["trials"]), *practice])
    copy_page(out, modules)

    stimuli = {f["stimulus_id"]: {"clip_id": c.clip_id, "label": c.label} for c in clips for f in c.frames}
    clip_table = {c.clip_id: {"label": c.label, "frames": len(c.frames)} for c in clips} if cfg.unit == "clip" else {}
    design = {
        "format": DESIGN_FORMAT,
        "stimulus_set": str(stim),
        "settings": cfg.model_dump(mode="json"),
        "classes": classes,
        "display_names": {c: c.replace("_", " ") for c in classes},
        "conditions": list(CONDITIONS),
        "choices_per_trial": n_choices,
        "fields": list(FIELDS),
        "practice": practice,
        "stimuli": stimuli,
        "clips": clip_table,
        "clip_format": {"codec": "VP9", "container": "WebM", "fps": cfg.clip_fps} if videos else None,
        "participants": lists,
    }
    write_json(out / "design.json", design)
    atomic_write_text(out / "design.js", f"window.BODYSCENE_DESIGN = {json.dumps(design)};\n")
    if skipped:
        write_csv(out / "skipped.csv", skipped, ["stimulus_id", "reason"])
    per = [sum(t["kind"] == "stimulus" for t in lst["trials"]) for lst in lists]
    return {
        "out": out,
        "participants": len(lists),
        "trials": per[0],
        "practice": len(practice),
        "images": len(images),
        "videos": videos,
        "skipped": len(skipped),
    }

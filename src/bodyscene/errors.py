"""The one exception type the CLI turns into a single line and exit status 2."""


class BodySceneError(Exception):
    """Bad input a user can fix: the message names the thing and the fix, in one line."""


# optional extra -> what it installs (pyproject.toml [project.optional-dependencies]); see docs/install.md
EXTRAS = {"yolo": "ultralytics", "tensorboard": "tensorboard", "wandb": "wandb"}


def require_extra(module: str, extra: str, needed_for: str):
    """Import `module`, or stop with one line naming the pip command that installs the extra providing it."""
    import importlib

    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as e:
        if e.name is None or not (e.name == module or module.startswith(e.name + ".")):
            raise  # a module *inside* the extra is broken: that is not a missing extra
        raise BodySceneError(
            f'{needed_for} needs {EXTRAS.get(extra, module)}, which is not installed; pip install "bodyscene[{extra}]"'
        ) from None

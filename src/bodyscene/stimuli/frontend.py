"""How each model sees a stimulus of each condition.

Every stimulus goes through the same front end. DomainNet's body input is the stimulus with its non-body pixels
black; its background input is the stimulus with the dilated body region inpainted. So:

| stimulus        | body stream sees      | background stream sees   |
|-----------------|-----------------------|--------------------------|
| original        | the body-only image   | the background-only image|
| body-only       | the body-only image   | a black frame (inpainting a black frame gives black) |
| background-only | a black frame (no person is left to keep) | the background-only image |

A baseline sees the stimulus itself. The flow stream of `domainnet-flow` sees the optical flow of the stimulus's
own condition (`flow_<condition>` columns, written by `prepare` with `prepare.flow: true`; see stimuli/flow.py).
"""

from __future__ import annotations

from collections.abc import Callable

from bodyscene.errors import BodySceneError
from bodyscene.models.registry import model_kind

BLACK = None  # stands for an all-black frame


# Each model input -> the manifest image column it reads on a stimulus of each condition (None: a black frame).
INPUT_COLUMNS: dict[str, Callable[[str], str | None]] = {
    "image": lambda condition: condition,
    "body": lambda condition: "body" if condition in ("original", "body") else BLACK,
    "background": lambda condition: "background" if condition in ("original", "background") else BLACK,
    "flow": lambda condition: f"flow_{condition}",
}


def model_inputs(kind: str, condition: str) -> dict[str, str | None]:
    """Model input name -> the manifest image column it is read from (None: a black frame), for the inputs the
    kind declares in the model registry (models/registry.py)."""
    if condition not in ("original", "body", "background"):
        raise BodySceneError(f"unknown condition {condition!r}; choose original, body or background")
    return {name: INPUT_COLUMNS[name](condition) for name in model_kind(kind).inputs}

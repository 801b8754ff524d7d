"""How each model sees a stimulus of each condition.

Every stimulus goes through the same front end. DomainNet's body input is the stimulus with its non-body pixels
black; its background input is the stimulus with the dilated body region inpainted. So:

| stimulus        | body stream sees      | background stream sees   |
|-----------------|-----------------------|--------------------------|
| original        | the body-only image   | the background-only image|
| body-only       | the body-only image   | a black frame (inpainting a black frame gives black) |
| background-only | a black frame (no person is left to keep) | the background-only image |
| swap            | the swap's body-only image (`swap_body`) | the swap with its body inpainted (`swap_background`) |

A baseline sees the stimulus itself. The flow stream of `domainnet-flow` sees the optical flow of the stimulus's
own condition (`flow_<condition>` columns, written by `prepare` with `prepare.flow: true`; see stimuli/flow.py); a
swap stimulus has no motion of its own, so the flow stream sees a black frame on it.

The audio stream of `domainnet-audio` hears the clip's spectrogram (`audio` column, `prepare --audio`; see
stimuli/sound.py) whatever the visual condition: the three conditions change what is seen, not what is heard (a
swap hears its body's clip). With the sound off (`evaluate.sound: false`) it hears silence (None), as it does on
clips that have no usable sound (an empty `audio` cell).
"""

from __future__ import annotations

from collections.abc import Callable

from bodyscene.errors import BodySceneError
from bodyscene.models.registry import model_kind

BLACK = None  # stands for an all-black frame (for a sound input: silence)
SOUND_INPUTS: tuple[str, ...] = ("audio",)  # inputs that are spectrograms (N x 1 x mels x frames, dB), not images


# Each model input -> the manifest image column it reads on a stimulus of each condition (None: a black frame).
INPUT_COLUMNS: dict[str, Callable[[str], str | None]] = {
    "image": lambda condition: condition,
    "body": lambda condition: "body" if condition in ("original", "body") else BLACK,
    "background": lambda condition: "background" if condition in ("original", "background") else BLACK,
    "flow": lambda condition: f"flow_{condition}",
    "audio": lambda condition: "audio",
}
# On a swap stimulus (prepare.swap): the composite, its body-only image and its body inpainted; a swap has no motion
# of its own, so a flow stream sees a black frame.
SWAP_COLUMNS: dict[str, Callable[[str], str | None]] = {
    "image": lambda condition: "swap",
    "body": lambda condition: "swap_body",
    "background": lambda condition: "swap_background",
    "flow": lambda condition: BLACK,
    "audio": lambda condition: "audio",
}


def model_inputs(kind: str, condition: str, sound: bool = True) -> dict[str, str | None]:
    """Model input name -> the manifest column it is read from (None: a black frame, or silence), for the inputs
    the kind declares in the model registry (models/registry.py); `sound=False` silences the sound inputs."""
    if condition not in ("original", "body", "background", "swap"):
        raise BodySceneError(f"unknown condition {condition!r}; choose original, body, background or swap")
    columns = SWAP_COLUMNS if condition == "swap" else INPUT_COLUMNS
    return {
        name: columns[name](condition) if sound or name not in SOUND_INPUTS else BLACK
        for name in model_kind(kind).inputs
    }

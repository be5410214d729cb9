from typing import Any


class Callback:
    """keras.callbacks.Callback: Keras sets ``params`` (epochs, steps) before training."""

    def __init__(self) -> None:
        self.params: dict[str, Any] = {}

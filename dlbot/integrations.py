"""Thin Keras and PyTorch Lightning callbacks over ``watch`` and ``progress``.

Neither framework is a dependency: each factory imports its framework when called.

    model.fit(x, y, epochs=10, callbacks=[keras_callback("resnet50")])
    trainer = lightning.Trainer(callbacks=[lightning_callback("bert")])

Lightning tells callbacks about exceptions, so a crash is reported with its traceback. Keras
does not: wrap ``fit`` in ``with watch(...)`` to hear about crashes, and use the callback only
for progress.
"""

from __future__ import annotations

from typing import Any

from dlbot.agent.watch import progress, watch


def keras_callback(name: str) -> Any:
    import keras

    class DlbotKerasCallback(keras.callbacks.Callback):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__()
            self._watch = watch(name)

        def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
            self._watch.__enter__()

        def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
            progress(epoch + 1, self.params.get("epochs"), **(logs or {}))

        def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
            self._watch.__exit__(None, None, None)

    return DlbotKerasCallback()


def lightning_callback(name: str) -> Any:
    try:
        from lightning.pytorch.callbacks import Callback
    except ImportError:
        from pytorch_lightning.callbacks import Callback

    class DlbotLightningCallback(Callback):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__()
            self._watch = watch(name)
            self._open = False

        def on_fit_start(self, trainer: Any, pl_module: Any) -> None:
            self._watch.__enter__()
            self._open = True

        def on_train_epoch_end(self, trainer: Any, pl_module: Any) -> None:
            progress(trainer.current_epoch + 1, trainer.max_epochs, **trainer.callback_metrics)

        def on_exception(self, trainer: Any, pl_module: Any, exception: BaseException) -> None:
            if self._open:
                self._open = False
                self._watch.__exit__(type(exception), exception, exception.__traceback__)

        def on_fit_end(self, trainer: Any, pl_module: Any) -> None:
            if self._open:
                self._open = False
                self._watch.__exit__(None, None, None)

    return DlbotLightningCallback()

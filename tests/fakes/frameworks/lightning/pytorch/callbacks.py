class Callback:
    """lightning.pytorch.callbacks.Callback: hooks receive (trainer, pl_module, ...)."""

from keras import callbacks

__all__ = ["callbacks"]

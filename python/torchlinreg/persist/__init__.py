"""The file format of a saved fit: arrays and JSON in one ``.npz``, written
atomically and read without running code."""

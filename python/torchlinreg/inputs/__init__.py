"""The edge: user data validated once into tensors (arrays and frames, torch
datasets, Parquet and CSV files) and the choice of rows (validation split,
epoch order). Everything below trusts what comes out of here."""

"""Fits of data that are never held whole: streamed from files, or shared
across processes with torch.distributed."""

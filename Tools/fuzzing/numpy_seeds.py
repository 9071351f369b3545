#!/usr/bin/env python3
"""Seeds for the npy and npz harnesses, written by numpy itself (np.save, np.savez): the files clients hand in.

Usage: numpy_seeds.py CORPUS_DIR  (Tools/fuzz --seeds runs it after the codec seeds)."""
import io
import pathlib
import sys

import numpy as np


def arrays():
    return {
        "w": np.arange(-6, 6, dtype=np.int8).reshape(3, 4),
        "b": np.array([1, -2, 3], dtype=np.int32),
        "x": np.array([[0, 255], [7, 9]], dtype=np.uint8),
        "s": np.array(5, dtype=np.int8),
    }


def npy(array):
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def npz(**named):
    buffer = io.BytesIO()
    np.savez(buffer, **named)
    return buffer.getvalue()


def main():
    corpus = pathlib.Path(sys.argv[1])
    (corpus / "npy").mkdir(parents=True, exist_ok=True)
    (corpus / "npz").mkdir(parents=True, exist_ok=True)
    for index, array in enumerate(arrays().values()):
        (corpus / "npy" / f"numpy-{index:02d}").write_bytes(npy(array))
    named = arrays()
    archives = [npz(**named), npz(w=named["w"]), npz(b=named["b"], x=named["x"])]
    for index, archive in enumerate(archives):
        (corpus / "npz" / f"numpy-{index:02d}").write_bytes(archive)


if __name__ == "__main__":
    main()

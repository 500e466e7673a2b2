"""
Which instruction sets this CPU (and its OS) supports, and how fastlayers was built.
"""
from __future__ import annotations
import typing
__all__: list[str] = ['build_info', 'cpu_features', 'has_avx2_fma', 'has_avx512']
def build_info() -> dict[str, typing.Any]:
    """
    {'compiler', 'build_type', 'flags': {instruction set: compiler flags}} of this wheel's core builds.
    """
def cpu_features() -> dict[str, bool]:
    """
    {extension name: supported} for this CPU, e.g. {'avx2': True, ...}.
    """
def has_avx2_fma() -> bool:
    """
    True when the CPU and OS support AVX2 and FMA.
    """
def has_avx512() -> bool:
    """
    True when the CPU and OS support AVX-512 F, CD, VL, DQ and BW, with AVX2 and FMA (the avx512 core).
    """

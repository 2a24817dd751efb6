"""Builds the VMA cffi extension at install time; everything else is in pyproject.toml."""

from setuptools import setup

setup(cffi_modules=["eng/vk/_vma_build.py:ffibuilder"])

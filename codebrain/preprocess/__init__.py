"""Preprocessing of raw scans that both front ends share (ANTs: bias, co-registration, skull stripping)."""

"""Modality registry, slice datasets, dataset preparation and the subject simulator."""

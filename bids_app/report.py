"""The per-subject HTML report: is the mask right, did registration work, what was made, how sure is it.

One page per subject (``sub-<l>.html`` at the top of the derivative dataset, figures
under ``sub-<l>/figures/``), one section per session, in the spirit of fMRIPrep's
reports: overlays to check each preprocessing step at a glance, then the synthesized
images beside the inputs and the confidence maps, and where a real image of a
synthesized contrast exists (``--hold-out``), the two side by side with PSNR/SSIM.
"""

from __future__ import annotations

import html
import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402 - the backend must be chosen first
import nibabel as nib  # noqa: E402
import numpy as np  # noqa: E402

from bids_app.derivatives import write_text  # noqa: E402
from bids_app.records import SessionRecord  # noqa: E402
from codebrain import __version__  # noqa: E402
from codebrain.runtime.staging import atomic_write  # noqa: E402

VIEWS = (("axial", 2), ("coronal", 1), ("sagittal", 0))
STYLE = """body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;color:#222}
h1{border-bottom:2px solid #444}h2{margin-top:2em;border-bottom:1px solid #aaa}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 10px;text-align:left}
figure{margin:1.5em 0}figcaption{color:#555;font-size:90%}img{max-width:100%}
.warn{background:#fff4d6;border-left:4px solid #e0a000;padding:6px 10px}
.methods{background:#f5f5f5;padding:8px 14px;font-size:92%}"""


def _load(root: Path, rel: str) -> np.ndarray:
    return np.asarray(nib.as_closest_canonical(nib.load(str(root / rel))).get_fdata(dtype=np.float32))


def _centre(mask: np.ndarray) -> tuple[int, ...]:
    idx = np.argwhere(mask)
    return tuple(int(v) for v in (idx.min(0) + idx.max(0)) // 2) if idx.size else tuple(s // 2 for s in mask.shape)


def _cut(volume: np.ndarray, axis: int, centre: tuple[int, ...]) -> np.ndarray:
    return np.rot90(np.take(volume, centre[axis], axis=axis))  # RAS: rows go superior/anterior up


def _scale(volume: np.ndarray, mask: np.ndarray) -> float:
    inside = volume[mask]
    return float(np.percentile(inside, 99.5)) if inside.size else 1.0


def _save(fig, path: Path) -> None:
    with atomic_write(path) as tmp:
        fig.savefig(tmp, format="png", dpi=90, bbox_inches="tight", facecolor="white")
    plt.close(fig)


def mask_figure(reference: np.ndarray, mask: np.ndarray, path: Path) -> None:
    centre = _centre(mask)
    fig, axes = plt.subplots(1, 3, figsize=(10, 3.6))
    for ax, (view, axis) in zip(axes, VIEWS):
        ax.imshow(_cut(reference, axis, centre), cmap="gray", vmax=_scale(reference, mask))
        ax.contour(_cut(mask.astype(float), axis, centre), levels=[0.5], colors="r", linewidths=1)
        ax.set_title(view)
        ax.axis("off")
    _save(fig, path)


def _edges(volume: np.ndarray, mask: np.ndarray) -> np.ndarray:
    grad = np.linalg.norm(np.gradient(volume), axis=0) * mask
    return grad > np.percentile(grad[mask], 90) if mask.any() else grad > 0


def registration_figure(reference: np.ndarray, moving: dict[str, np.ndarray], mask: np.ndarray, path: Path) -> None:
    """Each registered image with the reference's edges on top: misregistration shows as offset outlines."""
    centre, edges = _centre(mask), _edges(reference, mask)
    fig, axes = plt.subplots(len(moving), 3, figsize=(10, 3.4 * len(moving)), squeeze=False)
    for row, (name, volume) in zip(axes, moving.items()):
        for ax, (view, axis) in zip(row, VIEWS):
            ax.imshow(_cut(volume, axis, centre), cmap="gray", vmax=_scale(volume, mask))
            ax.contour(_cut(edges.astype(float), axis, centre), levels=[0.5], colors="c", linewidths=0.5)
            ax.set_title(f"{name} ({view})")
            ax.axis("off")
    _save(fig, path)


def synthesis_figure(given: dict[str, np.ndarray], synth: dict[str, np.ndarray], confidence: dict[str, np.ndarray],
                     mask: np.ndarray, path: Path) -> None:
    centre = _centre(mask)
    cols = max(len(given), len(synth))
    fig, axes = plt.subplots(3, cols, figsize=(3.3 * cols, 10), squeeze=False)
    rows = (("input", given, "gray"), ("synthesized", synth, "gray"), ("confidence", confidence, "viridis"))
    for ax_row, (label, images, cmap) in zip(axes, rows):
        for ax in ax_row:
            ax.axis("off")
        for ax, (name, volume) in zip(ax_row, images.items()):
            vmax = 1.0 if cmap == "viridis" else _scale(volume, mask)
            shown = ax.imshow(_cut(volume, 2, centre), cmap=cmap, vmin=0, vmax=vmax)
            ax.set_title(f"{label}: {name}")
            if cmap == "viridis":
                fig.colorbar(shown, ax=ax, fraction=0.046)
    _save(fig, path)


def comparison_figure(name: str, real: np.ndarray, synth: np.ndarray, mask: np.ndarray, metrics: dict,
                      path: Path) -> None:
    centre = _centre(mask)
    r, s = real / _scale(real, mask), synth / _scale(synth, mask)
    fig, axes = plt.subplots(1, 3, figsize=(10, 3.8))
    for ax, (title, image, cmap, vmax) in zip(axes, (("real (held out)", r, "gray", 1), ("synthesized", s, "gray", 1),
                                                      ("|difference|", np.abs(r - s) * mask, "magma", 0.5))):
        ax.imshow(_cut(image, 2, centre), cmap=cmap, vmin=0, vmax=vmax)
        ax.set_title(title)
        ax.axis("off")
    fig.suptitle(f"{name}: PSNR {metrics['psnr']:.2f} dB, SSIM {metrics['ssim']:.1f} %, MAE {metrics['mae']:.1f} x1e-3")
    _save(fig, path)


def _session_section(root: Path, record: SessionRecord) -> str:
    files, prefix = record.files, record.name
    figures = Path(f"sub-{record.subject}") / "figures"
    mask = _load(root, files["mask"]) > 0
    preproc = {m: _load(root, f) for m, f in files["preproc"].items()}
    reference = preproc[record.reference]
    out = [f"<h2>{html.escape(prefix)}</h2>", "<table>",
           f"<tr><th>given</th><td>{', '.join(record.given)}</td></tr>",
           f"<tr><th>synthesized</th><td>{', '.join(record.synthesized)}</td></tr>",
           f"<tr><th>held out (real, for comparison)</th><td>{', '.join(record.held_out) or '-'}</td></tr>",
           f"<tr><th>reference (grid of every output)</th><td>{record.reference}</td></tr>",
           f"<tr><th>model</th><td>{html.escape(record.model['name'])} "
           f"(sha256 {record.model['sha256'][:12]}...)</td></tr>",
           "<tr><th>mean confidence in the brain</th><td>"
           + ", ".join(f"{m}: {v:.3f}" for m, v in record.mean_confidence.items()) + "</td></tr>",
           "<tr><th>source files</th><td>" + "<br>".join(html.escape(os.path.basename(p))
                                                         for p in record.sources.values()) + "</td></tr>",
           "</table>"]
    out += [f'<p class="warn">{html.escape(w)}</p>' for w in record.warnings]

    def figure(name: str, caption: str, draw) -> None:
        draw(root / figures / name)
        out.append(f'<figure><img src="{(figures / name).as_posix()}" alt="{html.escape(caption)}">'
                   f"<figcaption>{caption}</figcaption></figure>")

    figure(f"{prefix}_desc-mask.png", f"Brain mask (red) on the {record.reference} reference.",
           lambda p: mask_figure(reference, mask, p))
    moving = {m: v for m, v in preproc.items() if m != record.reference}
    if moving:
        figure(f"{prefix}_desc-coreg.png", "Co-registered inputs with the reference's edges (cyan) on top.",
               lambda p: registration_figure(reference, moving, mask, p))
    given = {m: preproc[m] for m in record.given}
    synth = {m: _load(root, f) for m, f in files["synth"].items()}
    conf = {m: _load(root, f) for m, f in files["confidence"].items()}
    figure(f"{prefix}_desc-synth.png", "Inputs, synthesized contrasts and their confidence maps "
           "(the grader's probability of its chosen code; dark = least sure).",
           lambda p: synthesis_figure(given, synth, conf, mask, p))
    for name, metrics in record.held_out_metrics.items():
        figure(f"{prefix}_desc-heldout{name}.png", f"The real {name} (held out from the model) beside the "
               f"synthesized one: PSNR {metrics['psnr']:.2f} dB, SSIM {metrics['ssim']:.1f} %.",
               lambda p, n=name, m=metrics: comparison_figure(n, preproc[n], synth[n], mask, m, p))
    return "\n".join(out)


METHODS = ("Each anatomical image was reoriented to RAS and bias-corrected with N4 (ANTs, through antspyx). "
           "The reference image (first of T1w, T1Gd, FLAIR, T2w, PDw present, unless chosen) was resampled to "
           "1 mm isotropic where coarser; every other image was rigidly registered to it (Mattes mutual "
           "information) and resampled onto its grid. A brain mask was obtained by registering the MNI152 2009c "
           "template to the reference (affine, then SyN) and warping its brain mask. The missing contrasts were "
           "synthesized by CodeBrain {version} (model {model}) from the masked inputs, normalised by their 99.5th "
           "percentile inside the brain; the confidence maps are the grader's probability of its chosen code.")


def write_subject_report(output_dir: Path, subject: str, records: list[SessionRecord]) -> Path:
    """Draw the figures and write ``sub-<l>.html`` atomically; returns its path."""
    records = sorted(records, key=lambda r: r.session or "")
    sections = [_session_section(output_dir, r) for r in records]
    model = records[0].model["name"] if records else "-"
    page = (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>sub-{html.escape(subject)}: "
            f"CodeBrain</title><style>{STYLE}</style></head><body>"
            f"<h1>CodeBrain report: sub-{html.escape(subject)}</h1>" + "\n".join(sections)
            + "<h2>Methods</h2><p class='methods'>" + METHODS.format(version=__version__, model=html.escape(model))
            + "</p><h2>About</h2><p>codebrain " + __version__ + ". The synthesized images are for research: "
            "they are predictions, not measurements, and must not replace an acquired scan in diagnosis.</p>"
            "</body></html>\n")
    path = output_dir / f"sub-{subject}.html"
    write_text(path, page)
    return path

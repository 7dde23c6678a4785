"""Which metric tools are missing here, said once per page as a note instead of a warning per score.

Offline (as the book builds), SPICE's Stanford CoreNLP jars and the FENSE / SPIDEr-FL models are
usually absent: :func:`evaluate_captions` then returns None for the scores that need them and warns.
A notebook calls :func:`missing_tools_note` once at the top; the note it returns renders as one MyST
admonition (what is missing, which scores it leaves empty, how to get it) and, with ``silence=True``,
the per-evaluation warnings the note already covers are no longer shown in this process.

Notebooks: ``notebooks/04_metrics.ipynb`` (and every notebook that scores captions).
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Callable

from clipaac_lib.metrics.modern_models import (
    DOWNLOAD_HINT,
    ModelMetricsUnavailableWarning,
    ModernModels,
    hub_offline,
)
from clipaac_lib.metrics.scoring import SpiceUnavailableWarning
from clipaac_lib.metrics.spice import spice_available
from clipaac_lib.metrics.spice_install import SPICE_INSTALL_COMMAND

__all__ = ["MissingTool", "ToolsNote", "missing_tools", "missing_tools_note"]


@dataclasses.dataclass(frozen=True)
class MissingTool:
    """One tool that is not installed: its ``name``, the ``scores`` it leaves None and ``how`` to get it."""

    name: str
    scores: tuple[str, ...]
    how: str
    warning: type[Warning]  # what evaluate_captions warns when this tool is missing


@dataclasses.dataclass(frozen=True)
class ToolsNote:
    """What :func:`missing_tools_note` found; in a notebook it renders as one admonition."""

    missing: tuple[MissingTool, ...]

    def markdown(self) -> str:
        """A MyST ``note`` admonition listing the missing tools (a one-line note when none is)."""
        if not self.missing:
            return ":::{note}\nEvery metric tool is installed: all scores on this page are computed.\n:::"
        lines = [":::{note} Scores left empty on this page"]
        for tool in self.missing:
            scores = ", ".join(tool.scores)
            lines.append(f"- **{tool.name}**: not installed here, so {scores} show as empty. {tool.how}")
        lines.append(":::")
        return "\n".join(lines)

    def _repr_markdown_(self) -> str:
        return self.markdown()

    def __str__(self) -> str:
        return "\n".join(f"{t.name} missing: {', '.join(t.scores)} are None. {t.how}" for t in self.missing) or (
            "every metric tool is installed"
        )


def missing_tools(
    *,
    spice_found: Callable[[], bool] = spice_available,
    models: ModernModels | None = None,
    offline: Callable[[], bool] = hub_offline,
) -> tuple[MissingTool, ...]:
    """The metric tools that are absent and will not be fetched on first use.

    SPICE needs CoreNLP 3.6.0 (never downloaded implicitly). The FENSE / SPIDEr-FL models download on
    first use unless ``HF_HUB_OFFLINE`` is set, so they count as missing only offline."""
    found: list[MissingTool] = []
    if not spice_found():
        found.append(MissingTool("Stanford CoreNLP 3.6.0 (for SPICE)", ("SPICE", "SPIDEr", "SPIDEr-FL"),
                                 f"Install it once with `{SPICE_INSTALL_COMMAND}` (about 400 MB).", SpiceUnavailableWarning))
    models = models or ModernModels()
    absent = [m for m in (models.sbert, models.echecker) if m.missing()]
    if absent and offline():
        names = " and ".join(m.name for m in absent)
        found.append(MissingTool(f"the FENSE models ({names})", ("FENSE", "sentence-BERT similarity",
                                                                 "SPIDEr-FL"),
                                 f"Get them with `{DOWNLOAD_HINT}` (network needed; they download by "
                                 "themselves on first use when `HF_HUB_OFFLINE` is not set).",
                                 ModelMetricsUnavailableWarning))
    return tuple(found)


def missing_tools_note(
    *,
    silence: bool = True,
    spice_found: Callable[[], bool] = spice_available,
    models: ModernModels | None = None,
    offline: Callable[[], bool] = hub_offline,
) -> ToolsNote:
    """One note for a page about the missing metric tools (:func:`missing_tools`, same arguments). With
    ``silence``, the warnings of the tools the note names (:class:`SpiceUnavailableWarning`,
    :class:`ModelMetricsUnavailableWarning`) are ignored from now on in this process; a warning about
    anything the note does not name still shows."""
    note = ToolsNote(missing_tools(spice_found=spice_found, models=models, offline=offline))
    if silence:
        for category in {tool.warning for tool in note.missing}:
            warnings.filterwarnings("ignore", category=category)
    return note

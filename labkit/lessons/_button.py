"""The button under a failed check: each click shows the next hint under the report.

Only where someone clicks: a kernel with ipywidgets whose front end runs cells interactively
(`interactive()`). Anywhere else `Result._repr_mimebundle_` gives the text alone, which names
`lab.hint(...)`: a notebook run headless (`make notebooks`, nbval, nbclient) stores no widget, so
the students' edition never opens on "Error displaying widget: model not found"."""
from __future__ import annotations

import html
from typing import Callable

import ipywidgets as widgets


def _pre(text: str) -> str:
    return f"<pre style='margin:0'>{html.escape(text)}</pre>"


def interactive() -> bool:
    """Whether the cell running now came from a front end a student types in. JupyterLab, Notebook
    and VS Code send execute requests that allow input; nbclient (nbconvert, nbval) does not."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    kernel = getattr(get_ipython(), "kernel", None)
    return bool(getattr(kernel, "_allow_stdin", False))


def hint_button(report: str, label: str | None, next_hint: Callable[[], tuple[str, str | None]]) -> dict:
    """The mime bundle of `report` with a button under it. `label`: the button's first words (None:
    no hint left); `next_hint()` shows the next hint and returns it, and the button's next words."""
    hints = widgets.HTML("")
    button = widgets.Button(description=label or "no more hints", disabled=label is None,
                            layout=widgets.Layout(width="auto"))

    def click(_button) -> None:
        text, following = next_hint()
        hints.value += _pre(text)
        button.description, button.disabled = following or "no more hints", following is None

    button.on_click(click)
    return widgets.VBox([widgets.HTML(_pre(report)), button, hints])._repr_mimebundle_()

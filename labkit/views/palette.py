"""Colours and marks shared by every view, static or live.

Images get colours from the Okabe-Ito palette (safe for the common kinds of
colour blindness and readable on light and dark backgrounds); phases are told
apart by shape and fill as well as colour, so nothing relies on hue alone.
"""
from __future__ import annotations

from ..model import Replica

# Okabe & Ito, "Color Universal Design" (2008), without black.
IMAGE_COLOURS: tuple[str, ...] = (
    "#0072B2",  # blue
    "#E69F00",  # orange
    "#009E73",  # bluish green
    "#CC79A7",  # reddish purple
    "#56B4E9",  # sky blue
    "#D55E00",  # vermillion
    "#F0E442",  # yellow
)
WARNING = "#D55E00"
OK = "#009E73"
MUTED = "#8a8f98"

# Chip states: phase and readiness folded into one small int for the wire.
PENDING, STARTING, RUNNING, TERMINATING, FAILED, SUCCEEDED = range(6)
STATE_NAMES: tuple[str, ...] = ("pending", "starting", "running", "terminating", "failed", "succeeded")


def chip_state(replica: Replica) -> int:
    """The chip state of a replica: its phase, with running split by readiness."""
    phase = replica.phase
    if phase == "running":
        return RUNNING if replica.ready else STARTING
    if phase == "pending":
        return PENDING
    if phase == "terminating":
        return TERMINATING
    if phase == "failed":
        return FAILED
    if phase == "succeeded":
        return SUCCEEDED
    return PENDING


class ImagePalette:
    """Gives each image a colour index, first come first served, and keeps it.

    A live view keeps one palette for its lifetime, so `web-server:1` stays
    blue while `web-server:2` rolls out in orange.
    """

    def __init__(self) -> None:
        self.images: list[str] = []
        self._index: dict[str, int] = {}

    def index(self, image: str) -> int:
        found = self._index.get(image)
        if found is None:
            found = self._index[image] = len(self.images)
            self.images.append(image)
        return found

    def colour(self, image: str) -> str:
        return colour_of(self.index(image))


def colour_of(index: int) -> str:
    return IMAGE_COLOURS[index % len(IMAGE_COLOURS)]

"""``python -m ketaclinic.clinical`` prints the clinical rulebook."""

from __future__ import annotations

from .rulebook import render_rulebook

if __name__ == "__main__":
    print(render_rulebook(), end="")

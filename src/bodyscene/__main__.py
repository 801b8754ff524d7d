"""`python -m bodyscene` is the `bodyscene` command (also what `torchrun -m bodyscene` runs)."""

from bodyscene.cli import main

main()

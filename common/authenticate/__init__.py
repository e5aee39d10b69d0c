"""Close-up authentication of a physical item (issue 19): a mode beside the listing scan.

Photos of named regions (seam, stamp, lining, …) are taken with a printed ArUco scale card in view; the card's
homography gives millimetres, so stitches per inch, texture at physical scale and stamp geometry can be measured
and compared with the brand kit's genuine close-ups. Modules: ``card`` (the card: layout, PDF, detection,
rectification), ``quality`` (retake reasons), ``seam`` (SPI), ``texture``, ``stamp``, ``judge`` (verdicts
against the genuine spread), ``kit`` (closeups in the brand kit), ``service`` (one authentication),
``report`` (JSON + PDF), ``synthetic`` (rendered close-ups for tests and the benchmark), ``cli``, ``http``.
"""

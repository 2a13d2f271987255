"""``grade review RESULTS``: the manual part of grading, question by question across the class.

``groups`` puts answers that say the same thing together, ``decisions`` keeps the rubric of reusable
comments and every mark in the course database (and carries them into the reports and the gradebook),
``server`` is the local web app a TA grades in."""

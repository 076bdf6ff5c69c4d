"""``grade batch``: a class graded resumably.

``discover.py`` finds and prepares the submissions, ``pool.py`` grades the
(submission, exercise) pairs in worker processes, ``journal.py`` records every
outcome, ``gradebook.py`` derives every output from the journal, and ``run.py``
ties them together (``grade_batch``).
"""

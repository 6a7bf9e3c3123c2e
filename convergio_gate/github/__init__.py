"""Everything convergio-gate says to and reads from GitHub.

The Action runs on a pull request and talks back through GitHub itself: the sticky
comment, the commit status, the job summary. ``event`` reads what Actions hands the job,
``render`` writes the markdown, ``api`` makes the REST calls (PyGithub, with retries that
never post twice and errors that name the missing workflow permission).
"""

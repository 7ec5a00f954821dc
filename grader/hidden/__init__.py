"""Hidden checks: graded on the instructor's side, never shown before the deadline, not in the student kit."""

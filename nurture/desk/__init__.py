"""The call desk: call tasks worked by the teleprospecting team (models, reps, priority, pages)."""

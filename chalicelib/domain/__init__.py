"""Domain values and rules: submissions, reviews, decisions, the content check, and the store ports."""

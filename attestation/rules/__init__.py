"""The regulation's rules as pure functions: deadlines, timing, forms and scales,
commission composition and quorum, the closed vote, appeals, outcomes, working days."""

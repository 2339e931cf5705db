"""The review team: who its members are and what each role may do."""
